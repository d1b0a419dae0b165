package dev.ediff.cli;

import sun.misc.Signal;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Ctrl-C (SIGINT) and SIGTERM for the command line: the command is interrupted and the process exits
 * only after it has returned, with 130 or 143 and the one line {@code ediff: cancelled}.
 *
 * <p>Why not a shutdown hook: on a signal the JVM runs all shutdown hooks at once, and ONNX Runtime
 * registers one that releases its environment. Releasing it while a session is being created (or run)
 * on the main thread crashed the JVM (SIGBUS, {@code hs_err} file) or failed the load with a
 * misleading "DefaultLogger" error. With these handlers a signal does not start the shutdown; the
 * main thread is interrupted (opening a bundle and generating both stop at the next model boundary,
 * closing what they opened), and the JVM shuts down after the command has returned, when nothing
 * native is in flight. Whatever the interrupted command prints to standard error after the signal is
 * dropped, so the cancellation line is the only one. A second signal, or a command that has not
 * returned {@link #GRACE_SECONDS} seconds after the first, ends the process at once (without shutdown
 * hooks, so still without touching native state).
 */
final class SignalExit {

    /** How long a signal waits for the interrupted command before the process is halted. */
    static final int GRACE_SECONDS = 30;

    static final String CANCELLED = "ediff: cancelled";

    private static final int RETURNED = -1;

    private SignalExit() {
    }

    /**
     * Runs {@code command} on this thread with INT and TERM handled as above; returns its exit code, or
     * 128 + the signal number when a signal arrived before it returned.
     *
     * @param command gets the standard error stream to print to (muted once a signal arrives)
     */
    static int run(Function<PrintStream, Integer> command, PrintStream err) {
        Thread worker = Thread.currentThread();
        MutableErr muted = new MutableErr(err);
        AtomicInteger signalled = new AtomicInteger();
        AtomicBoolean reported = new AtomicBoolean();
        CountDownLatch returned = new CountDownLatch(1);
        Runnable report = () -> {
            if (reported.compareAndSet(false, true)) {
                synchronized (err) {
                    if (muted.midLine) {
                        err.println();
                    }
                    err.println(CANCELLED);
                    err.flush();
                }
            }
        };
        for (String name : new String[]{"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> {
                    int code = 128 + s.getNumber();
                    int earlier = signalled.compareAndExchange(0, code);
                    if (earlier == RETURNED) {
                        return; // the command has finished: let the process exit with its code
                    }
                    if (earlier != 0) {
                        report.run(); // a second signal: stop now
                        Runtime.getRuntime().halt(earlier);
                    }
                    muted.mute();
                    worker.interrupt();
                    try {
                        if (!returned.await(GRACE_SECONDS, TimeUnit.SECONDS)) {
                            report.run();
                            Runtime.getRuntime().halt(code);
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } catch (IllegalArgumentException e) {
                // The signal is ignored or reserved here (e.g. started with INT ignored, or -Xrs): keep the default.
            }
        }
        PrintStream systemErr = System.err;
        System.setErr(muted);
        int code;
        try {
            code = command.apply(muted);
        } finally {
            System.setErr(systemErr);
        }
        // A signal from here on lets the process finish with the command's code (the work is done).
        int signal = signalled.getAndSet(RETURNED);
        returned.countDown();
        if (signal > 0) {
            Thread.interrupted();
            report.run();
            return signal;
        }
        return code;
    }

    /** Standard error that drops everything once muted, and remembers whether a line is open (progress uses \r). */
    private static final class MutableErr extends PrintStream {
        private volatile boolean mute;
        volatile boolean midLine;

        MutableErr(PrintStream target) {
            super(new OutputStream() {
                @Override
                public void write(int b) {
                    target.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    target.write(b, off, len);
                }

                @Override
                public void flush() {
                    target.flush();
                }
            }, true);
        }

        void mute() {
            synchronized (this) {
                mute = true;
                flush();
            }
        }

        @Override
        public void write(int b) {
            synchronized (this) {
                if (!mute) {
                    super.write(b);
                    midLine = b != '\n';
                }
            }
        }

        @Override
        public void write(byte[] buf, int off, int len) {
            synchronized (this) {
                if (!mute && len > 0) {
                    super.write(buf, off, len);
                    midLine = buf[off + len - 1] != '\n';
                }
            }
        }
    }
}
