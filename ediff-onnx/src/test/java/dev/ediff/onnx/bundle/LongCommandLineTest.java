package dev.ediff.onnx.bundle;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime 1.29.0 kills the JVM (SIGSEGV, exit 139) at environment start when the process
 * command line is longer than about 4 KB (docs/onnxruntime-1.29-long-cmdline.md). A child JVM with a
 * 16 KB command line opens a model bundle and must exit cleanly.
 */
class LongCommandLineTest {

    static final int COMMAND_LINE_PADDING = 16_000;

    @TempDir
    Path tmp;

    @Test
    void aChildJvmWithA16KbCommandLineOpensABundle() throws IOException, InterruptedException {
        FixtureBundle bundle = FixtureBundle.create(tmp.resolve("bundle"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-Xmx128m", "-Dediff.padding=" + "x".repeat(COMMAND_LINE_PADDING),
                "-cp", System.getProperty("java.class.path"), OpenBundleChild.class.getName(), bundle.dir.toString());
        assertTrue(String.join(" ", command).length() > COMMAND_LINE_PADDING, "the command line is over 16 KB");
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM finished");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "exit code of the child JVM (139 = SIGSEGV); its output: " + output);
        assertTrue(output.contains("opened 2 stages"), output);
    }
}
