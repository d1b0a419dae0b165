package dev.ediff.cli;

import dev.ediff.api.Progress;
import dev.ediff.onnx.bundle.FixtureBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The progress display against a simulated clock: which lines appear and their time estimates. */
class ProgressBarTest {

    static final long SECOND = 1_000_000_000L;

    /** A clock the test moves. */
    static final class Clock {
        long now;
    }

    static Progress at(String stage, int step, int total, double sigma, String expert, long elapsedSeconds) {
        return new Progress(stage, step, total, step + 1, sigma, expert, Duration.ofSeconds(elapsedSeconds));
    }

    @Test
    void linesShowFirstLastAndEveryTwoSecondsWithTheEta() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Clock clock = new Clock();
        ProgressBar bar = new ProgressBar(ProgressBar.Mode.AUTO, new PrintStream(buf, true, StandardCharsets.UTF_8),
                false, () -> clock.now);
        assertEquals(ProgressBar.Mode.LINES, bar.mode(), "not a terminal: lines");
        // base: 10 steps of one second each (the first event comes 1 s after the generation began)
        for (int i = 0; i < 10; i++) {
            clock.now = (i + 1) * SECOND;
            bar.onProgress(at("base", i, 10, 10.0 / (i + 1), i < 5 ? "high" : "low", i + 1));
            bar.onProgress(at("base", i, 10, 10.0 / (i + 1), "high", i + 1)); // a second evaluation: ignored
        }
        // sr: 4 steps of 3 seconds, starting when base ended
        for (int i = 0; i < 4; i++) {
            clock.now = 10 * SECOND + (i + 1) * 3 * SECOND;
            bar.onProgress(at("sr", i, 4, 1.0 / (i + 1), "sr", 10 + 3 * (i + 1)));
        }
        bar.finish();
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(List.of(
                "base step 1/10 sigma 10.0000 expert high ETA 9s",
                "base step 3/10 sigma 3.3333 expert high ETA 7s",
                "base step 5/10 sigma 2.0000 expert high ETA 5s",
                "base step 7/10 sigma 1.4286 expert low ETA 3s",
                "base step 9/10 sigma 1.1111 expert low ETA 1s",
                "base step 10/10 sigma 1.0000 expert low ETA 0s",
                "sr step 1/4 sigma 1.0000 expert sr ETA 9s",
                "sr step 2/4 sigma 0.5000 expert sr ETA 6s",
                "sr step 3/4 sigma 0.3333 expert sr ETA 3s",
                "sr step 4/4 sigma 0.2500 expert sr ETA 0s"), lines);
    }

    @Test
    void generateShowsABarWhenAskedAndNothingWithNone(@TempDir Path tmp) {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Cli bar = Cli.run("generate", "--model", bundle.toString(), "--steps", "3", "--out", tmp.resolve("a").toString(),
                "--progress", "bar", "x");
        assertEquals(0, bar.code(), bar.toString());
        assertTrue(bar.err().contains("\r\033[Kbase [########################] 3/3 sigma "), bar.err());
        assertTrue(bar.err().contains("\r\033[Ksr ["), "every stage: " + bar.err());
        Cli none = Cli.run("generate", "--model", bundle.toString(), "--steps", "3", "--out", tmp.resolve("b").toString(),
                "--progress", "none", "x");
        assertEquals(0, none.code(), none.toString());
        assertFalse(none.err().contains("step") || none.err().contains("ETA"), none.err());
        Cli lines = Cli.run("generate", "--model", bundle.toString(), "--steps", "3", "--out", tmp.resolve("c").toString(),
                "x");
        assertFalse(lines.err().contains("\r"), "not a terminal: plain lines: " + lines.err());
        assertTrue(lines.err().contains("base step 3/3 sigma "), lines.err());
    }

    @Test
    void aBarRedrawsInPlaceAndEndsItsLineAtEachStage() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Clock clock = new Clock();
        ProgressBar bar = new ProgressBar(ProgressBar.Mode.AUTO, new PrintStream(buf, true, StandardCharsets.UTF_8),
                true, () -> clock.now);
        assertEquals(ProgressBar.Mode.BAR, bar.mode(), "a terminal: a bar");
        for (int i = 0; i < 4; i++) {
            clock.now = (i + 1) * SECOND;
            bar.onProgress(at("base", i, 4, 5 - i, "mid", i + 1));
        }
        clock.now += SECOND / 1000;
        bar.onProgress(at("sr", 0, 2, 1, "sr", 5));
        clock.now += SECOND / 1000; // too soon to redraw, but the last step always shows
        bar.onProgress(at("sr", 1, 2, 0.5, "sr", 5));
        bar.finish();
        String s = buf.toString(StandardCharsets.UTF_8);
        String[] lines = s.split("\n", -1);
        assertEquals(3, lines.length, "base's bar, sr's bar, and the final newline: " + s);
        assertTrue(lines[0].endsWith("\r\033[Kbase [########################] 4/4 sigma 2.000 expert mid ETA 0s"), lines[0]);
        assertTrue(lines[0].contains("\r\033[Kbase [######------------------] 1/4 sigma 5.000 expert mid ETA 3s"),
                lines[0]);
        assertTrue(lines[1].endsWith("sr [########################] 2/2 sigma 0.5000 expert sr ETA 0s"), lines[1]);
        assertEquals("", lines[2]);

        ByteArrayOutputStream none = new ByteArrayOutputStream();
        ProgressBar off = new ProgressBar(ProgressBar.Mode.NONE, new PrintStream(none), true, () -> 0);
        off.onProgress(at("base", 0, 1, 1, "x", 0));
        off.finish();
        assertEquals(0, none.size());
        assertFalse(ProgressBar.eta(0, 0, 5).matches("\\d+s"), "no estimate before a step is done");
        assertEquals("2m05s", ProgressBar.eta(125 * SECOND, 1, 2));
    }
}
