package dev.ediff.cli;

import dev.ediff.api.Progress;
import dev.ediff.api.ProgressListener;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A generation's progress on standard error: stage, step/total, sigma, expert and the estimated
 * time left in the stage. On a terminal one bar is redrawn in place (at most ten times a second);
 * elsewhere (a log, a pipe) plain lines: the first and last step of each stage and one line every
 * two seconds in between.
 */
final class ProgressBar implements ProgressListener {

    /** How progress is shown; {@code AUTO} is a bar when standard error is a terminal, else lines. */
    enum Mode { AUTO, BAR, LINES, NONE }

    private static final long REDRAW_NANOS = 100_000_000L;
    private static final long LINE_NANOS = 2_000_000_000L;
    private static final int WIDTH = 24;

    private final PrintStream err;
    private final Mode mode;
    private final LongSupplier clock;
    private String stage;
    private long stageStart;
    private long lastEvent;
    private long lastShown;
    private int lastStep;
    private boolean lineOpen;

    ProgressBar(Mode mode, PrintStream err, boolean terminal, LongSupplier nanoClock) {
        this.err = err;
        this.mode = mode == Mode.AUTO ? (terminal ? Mode.BAR : Mode.LINES) : mode;
        this.clock = nanoClock;
    }

    /** The mode in use ({@code AUTO} resolved). */
    Mode mode() {
        return mode;
    }

    @Override
    public void onProgress(Progress p) {
        if (mode == Mode.NONE) {
            return;
        }
        long now = clock.getAsLong();
        boolean first = !p.stage().equals(stage);
        if (first) {
            endLine();
            // The stage began when the previous one ended (or, for the first, when the generation did).
            stageStart = stage == null ? now - p.elapsed().toNanos() : lastEvent;
            stage = p.stage();
            lastStep = -1;
        }
        lastEvent = now;
        boolean last = p.step() + 1 >= p.totalSteps();
        if (p.step() == lastStep) {
            return; // a second evaluation of the same step (Heun, DPM-2)
        }
        lastStep = p.step();
        String eta = eta(now - stageStart, p.step() + 1, p.totalSteps());
        if (mode == Mode.BAR) {
            if (first || last || now - lastShown >= REDRAW_NANOS) {
                int filled = (int) ((long) WIDTH * (p.step() + 1) / p.totalSteps());
                err.print(String.format(Locale.ROOT, "\r\033[K%s [%s%s] %d/%d sigma %.4g expert %s ETA %s", p.stage(),
                        "#".repeat(filled), "-".repeat(WIDTH - filled), p.step() + 1, p.totalSteps(), p.sigma(),
                        p.expert(), eta));
                err.flush();
                lineOpen = true;
                lastShown = now;
            }
        } else if (first || last || now - lastShown >= LINE_NANOS) {
            err.println(String.format(Locale.ROOT, "%s step %d/%d sigma %.4f expert %s ETA %s", p.stage(), p.step() + 1,
                    p.totalSteps(), p.sigma(), p.expert(), eta));
            lastShown = now;
        }
    }

    /** Ends a bar line so that what follows starts on its own line. */
    void finish() {
        endLine();
    }

    private void endLine() {
        if (lineOpen) {
            err.println();
            lineOpen = false;
        }
    }

    /** Time left at the stage's mean step time so far: {@code elapsed / done * (total - done)}. */
    static String eta(long elapsedNanos, int done, int total) {
        if (done <= 0) {
            return "?";
        }
        long seconds = Math.round(elapsedNanos / 1e9 / done * (total - done));
        return seconds < 60 ? seconds + "s" : String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
}
