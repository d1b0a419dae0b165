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
 * ONNX Runtime 1.29's telemetry creates an empty {@code /tmp/mat-debug-<pid>.log} in every process
 * that starts its environment and leaves it there (docs/onnxruntime-1.29-long-cmdline.md); 1.28 makes
 * none. A child JVM that opens a model bundle through the SDK must leave none behind. (The long
 * command-line crash itself is covered by ediff-examples' {@code LongCommandLineTest}, which
 * generates with the default model.)
 */
class EngineDebugLogTest {

    @TempDir
    Path tmp;

    @Test
    void openingLeavesNoDebugLogInTmp() throws IOException, InterruptedException {
        FixtureBundle bundle = FixtureBundle.create(tmp.resolve("bundle"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                OpenBundleChild.class.getName(), bundle.dir.toString());
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM finished");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "exit code of the child JVM; its output: " + output);
        assertTrue(output.contains("opened 2 stages"), output);
        Path debugLog = Path.of("/tmp", "mat-debug-" + p.pid() + ".log");
        assertFalse(Files.exists(debugLog), debugLog + " was left behind by the child JVM");
    }
}
