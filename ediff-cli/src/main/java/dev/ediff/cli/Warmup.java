package dev.ediff.cli;

import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.bundle.ModelBundle;

import java.util.concurrent.TimeUnit;

/**
 * Start-up work of {@code ediff generate} done on a second thread while the main thread starts
 * picocli and parses the command line (docs/PERFORMANCE.md, "Session 5"): the JSON reader's first
 * use (reading the default bundle's manifest loads and initialises some 800 Jackson classes) and
 * ONNX Runtime's environment (loading its native library), then the PNG writer's classes (image I/O
 * service registry). All are process-wide and idempotent, and
 * the main thread would do them next; when it gets there first it waits for the class or library
 * being initialised instead of doing the work twice. Nothing the warm-up does is kept apart from
 * that, and a failure in it is ignored: the main thread meets the same failure and reports it.
 *
 * <p>{@code -Dediff.cli.warmup=false} (e.g. in {@code EDIFF_JAVA_OPTS}) turns it off, for
 * measurements.
 */
final class Warmup {

    /** The system property that turns the warm-up off when {@code false}. */
    static final String PROPERTY = "ediff.cli.warmup";

    private Warmup() {
    }

    /**
     * Starts the warm-up when the command line is a {@code generate} (its first argument that is not
     * an option), else does nothing.
     *
     * @param args the command line
     * @return the warm-up thread, or null when none was started
     */
    static Thread start(String[] args) {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY)) || !isGenerate(args)) {
            return null;
        }
        Thread t = new Thread(Warmup::run, "ediff-warmup");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Whether the command is {@code generate}. */
    static boolean isGenerate(String[] args) {
        return "generate".equals(Main.soleCommand(args));
    }

    private static void run() {
        try {
            ModelBundle.defaultManifest();
        } catch (RuntimeException | LinkageError ignored) {
            // the main thread reads the manifest itself and reports what is wrong
        }
        try {
            NativeLibrary.environment();
        } catch (RuntimeException | LinkageError ignored) {
            // the main thread opens ONNX Runtime itself and reports what is wrong
        }
        try {
            javax.imageio.ImageIO.getImageWritersByFormatName("png").hasNext();
        } catch (RuntimeException | LinkageError ignored) {
            // the main thread writes the PNG files itself and reports what is wrong
        }
    }

    /**
     * Waits for the warm-up before the process exits: ONNX Runtime's shutdown hook must not release
     * its environment while the warm-up thread is still creating it (a command can fail on its
     * arguments that early).
     *
     * @param t the thread {@link #start} returned, or null
     */
    static void finish(Thread t) {
        if (t == null) {
            return;
        }
        try {
            t.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
