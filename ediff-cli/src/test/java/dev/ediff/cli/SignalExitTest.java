package dev.ediff.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Ctrl-C and SIGTERM at random moments while the CLI opens the default model (and early in the
 * generation): every run must end with exit 130 (SIGINT) or 143 (SIGTERM) and the single line
 * {@code ediff: cancelled}, or, when the signal came after the work was done, exit 0; never a JVM crash,
 * an {@code hs_err} file, a model-loading error or a partial PNG.
 *
 * <p>Each child JVM is signalled at a random delay after ONNX Runtime's native library appears in its
 * memory map (the bundle is opening from then on). Linux only ({@code /proc}, {@code kill}).
 */
class SignalExitTest {

    static final int RUNS = 10;
    /**
     * Signals land within this many ms after the native library is mapped: opening the default model
     * and the first steps take longer (about 1.2 s or more here since the native library is cached and
     * the style encoder opens lazily; 3 s missed most runs).
     */
    static final int MAX_DELAY_MS = 1000;

    @TempDir
    Path tmp;

    @Test
    void signalsWhileOpeningEndCleanlyEveryTime() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux /proc");
        Random random = new Random(13);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // the build's optimized-graph cache folder, never the user's
        String graphCache = System.getProperty("ediff.graphCache.dir") != null
                ? "-Dediff.graphCache.dir=" + System.getProperty("ediff.graphCache.dir") : "-Dediff.graphCache=false";
        int signalled = 0;
        List<String> log = new ArrayList<>();
        for (int run = 0; run < RUNS; run++) {
            Path dir = Files.createDirectories(tmp.resolve("run" + run));
            Path out = dir.resolve("out");
            boolean term = random.nextBoolean();
            int delay = random.nextInt(MAX_DELAY_MS);
            Process p = new ProcessBuilder(java.toString(), "-Xmx256m", graphCache, "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "generate", "--seed", "1", "--steps", "4", "--until", "base",
                    "--out", out.toString(), "a red circle")
                    .directory(dir.toFile())
                    .redirectOutput(dir.resolve("stdout").toFile())
                    .redirectError(dir.resolve("stderr").toFile())
                    .start();
            Path maps = Path.of("/proc", Long.toString(p.pid()), "maps");
            while (p.isAlive() && !mapsOnnxRuntime(maps)) {
                Thread.sleep(5);
            }
            Thread.sleep(delay);
            boolean sent = p.isAlive()
                    && new ProcessBuilder("kill", term ? "-TERM" : "-INT", Long.toString(p.pid())).start().waitFor() == 0;
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "run " + run + " ended");
            int code = p.exitValue();
            String err = Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8);
            String where = "run " + run + " (" + (term ? "TERM" : "INT") + " after " + delay + " ms, exit " + code
                    + "), stderr:\n" + err;
            log.add("run " + run + ": " + (sent ? (term ? "TERM" : "INT") + " at +" + delay + " ms" : "no signal")
                    + " -> exit " + code);
            assertTrue(listing(dir).stream().noneMatch(f -> f.startsWith("hs_err")), "no JVM crash file: " + where);
            assertTrue(!Files.isDirectory(out) || listing(out).stream().noneMatch(f -> f.endsWith(".part")),
                    "no partial file: " + where);
            List<String> lines = Arrays.stream(err.split("[\r\n]+")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            if (code == 0) {
                assertTrue(Files.exists(out.resolve("ediff-1.png")), "a run that was not cancelled wrote its image: " + where);
                continue;
            }
            assertTrue(sent, "only a signal may end a run with a failure: " + where);
            signalled++;
            assertEquals(term ? 143 : 130, code, where);
            assertEquals(SignalExit.CANCELLED, lines.get(lines.size() - 1), "the last line: " + where);
            for (String line : lines.subList(0, lines.size() - 1)) {
                assertTrue(line.matches("\\S+ step \\d+/\\d+ sigma .*"), "only progress before the cancellation line, got '"
                        + line + "' in " + where);
            }
        }
        System.out.println(String.join("\n", log));
        assertTrue(signalled >= RUNS / 2, "at least half the runs were cancelled (else the delays miss the opening): " + log);
    }

    private static boolean mapsOnnxRuntime(Path maps) {
        try {
            return Files.readString(maps).contains("libonnxruntime");
        } catch (IOException e) {
            return false; // not yet readable, or the process is gone
        }
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).toList();
        }
    }
}
