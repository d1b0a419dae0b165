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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime 1.29.0 kills the JVM (SIGSEGV, exit 139) at environment start when the process
 * command line is longer than about 4 KB (docs/onnxruntime-1.29-long-cmdline.md). A child JVM with a
 * 16 KB command line opens a model bundle and must exit cleanly. 1.29.0 also leaves an empty
 * {@code /tmp/mat-debug-<pid>.log} behind in every process that starts its environment: none may be left.
 */
class LongCommandLineTest {

    static final int COMMAND_LINE_PADDING = 16_000;

    @TempDir
    Path tmp;

    @Test
    void aChildJvmWithA16KbCommandLineOpensABundle() throws IOException, InterruptedException {
        String padding = "x".repeat(COMMAND_LINE_PADDING);
        String output = openInChild(padding);
        assertTrue(output.contains("opened 2 stages"), output);
    }

    @Test
    void openingLeavesNoDebugLogInTmp() throws IOException, InterruptedException {
        openInChild("short");
        Path debugLog = Path.of("/tmp", "mat-debug-" + lastChildPid + ".log");
        assertFalse(Files.exists(debugLog), debugLog + " was left behind by the child JVM");
    }

    private long lastChildPid;

    /** Runs {@link OpenBundleChild} with {@code -Dediff.padding=<padding>}; asserts exit 0, returns its output. */
    private String openInChild(String padding) throws IOException, InterruptedException {
        FixtureBundle bundle = FixtureBundle.create(tmp.resolve("bundle"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-Xmx128m", "-Dediff.padding=" + padding,
                "-cp", System.getProperty("java.class.path"), OpenBundleChild.class.getName(), bundle.dir.toString());
        assertTrue(String.join(" ", command).length() > padding.length(), "the command line holds the padding");
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        lastChildPid = p.pid();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM finished");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "exit code of the child JVM (139 = SIGSEGV); its output: " + output);
        return output;
    }
}
