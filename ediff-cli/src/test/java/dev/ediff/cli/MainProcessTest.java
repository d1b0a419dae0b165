package dev.ediff.cli;

import dev.ediff.core.image.PngFiles;
import dev.ediff.onnx.bundle.FixtureBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ediff} as a real process: the exit code reaches the shell, and a 1,000-word prompt goes
 * through the process's standard input while its command line stays short (ONNX Runtime 1.29.0
 * crashed reading a command line over about 4 KB).
 */
class MainProcessTest {

    static Process start(Path dir, String... args) throws Exception {
        // the build's optimized-graph cache folder, never the user's
        String graphCache = System.getProperty("ediff.graphCache.dir") != null
                ? "-Dediff.graphCache.dir=" + System.getProperty("ediff.graphCache.dir") : "-Dediff.graphCache=false";
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                graphCache, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(dir.resolve("err.txt").toFile())
                .redirectOutput(dir.resolve("out.txt").toFile()).start();
    }

    @Test
    void aLongPromptThroughStandardInputAndExitCodes(@TempDir Path tmp) throws Exception {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Process p = start(tmp, "generate", "--model", bundle.toString(), "--steps", "1", "--seed", "9", "--out",
                tmp.resolve("out").toString(), "-");
        try (OutputStream in = p.getOutputStream()) {
            in.write(PromptInputTest.LONG.getBytes(StandardCharsets.UTF_8));
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished");
        String err = Files.readString(tmp.resolve("err.txt"));
        assertEquals(0, p.exitValue(), err);
        assertEquals(PromptInputTest.LONG, PngFiles.readText(tmp.resolve("out/ediff-9.png")).get("prompt"));
        assertTrue(err.contains("base step 1/1"), "stderr is a file here: plain progress lines: " + err);
        assertTrue(!err.contains("\r"), err);

        Process bad = start(tmp, "generate", "--steps", "1000000", "x");
        bad.getOutputStream().close();
        assertTrue(bad.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, bad.exitValue());
        assertEquals(List.of("ediff: --steps must be in 1..1000, got 1000000"),
                Files.readAllLines(tmp.resolve("err.txt")));
    }
}
