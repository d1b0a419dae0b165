package dev.ediff.onnx.bundle;

import dev.ediff.api.CancelledException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The file work of opening one bundle (reading and verifying a model, parsing a tokenizer,
 * creating an ONNX Runtime session) run on a small shared pool, while the opening thread takes the
 * results in the bundle's order and does everything else (checks between models, the pipeline).
 *
 * <p>Each result has one owner at a time: the step until the opening thread {@link #take takes} it,
 * then the opening thread. {@link #abandon} (called on any failure) stops the steps that have not
 * begun, waits for the running ones (ONNX Runtime cannot stop a session half-built), and closes
 * every result nobody took, so a failed or cancelled open leaves no session behind. A step's
 * failure is seen when its turn comes, so the error reported is the one a one-by-one open in the
 * bundle's order would have met first.
 */
final class OpenSteps {

    /** Pool threads: one per processor, at most {@value #MAX_THREADS}; idle ones end after a few seconds. */
    static final int MAX_THREADS = 4;

    /**
     * The system property that sets the pool's size instead (for measurements); 1 runs every step
     * on the opening thread, one after another, as before the pool existed.
     */
    static final String THREADS_PROPERTY = "ediff.open.threads";

    private static final int THREADS = threads();

    private static final ThreadPoolExecutor POOL;

    static {
        int n = THREADS;
        AtomicInteger count = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "ediff-open-" + count.incrementAndGet());
            t.setDaemon(true);
            t.setContextClassLoader(OpenSteps.class.getClassLoader());
            return t;
        };
        POOL = new ThreadPoolExecutor(n, n, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), factory);
        POOL.allowCoreThreadTimeOut(true);
    }

    /** A piece of opening work whose result may need closing. */
    static final class Step<T> {
        private final FutureTask<T> task;
        private final Closer<? super T> closer;
        private boolean taken; // only the opening thread reads and writes it

        private Step(FutureTask<T> task, Closer<? super T> closer) {
            this.task = task;
            this.closer = closer;
        }
    }

    /** Releases a result nobody took. */
    @FunctionalInterface
    interface Closer<T> {
        /**
         * Releases {@code value}.
         *
         * @param value the result
         * @throws Exception when releasing fails
         */
        void close(T value) throws Exception;
    }

    private final String what;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final List<Step<?>> steps = new ArrayList<>();
    private final boolean inline;

    /**
     * @param what   the bundle, for the cancellation message
     * @param inline run each step on the opening thread when it is taken (no pool)
     */
    OpenSteps(String what, boolean inline) {
        this.what = what;
        this.inline = inline;
    }

    /** @param what the bundle, for the cancellation message; steps run on the pool unless its size is 1 */
    OpenSteps(String what) {
        this(what, !parallel());
    }

    /**
     * {@return the number of threads that open a bundle's models: 1 when they open on the opening
     * thread} The system property {@value #THREADS_PROPERTY} wins when it is a whole number (below 1
     * counts as 1); anything else is warned about and ignored.
     */
    static int threads() {
        int n = Math.max(1, Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()));
        String p = System.getProperty(THREADS_PROPERTY);
        if (p != null) {
            try {
                n = Math.max(1, Integer.parseInt(p.trim()));
            } catch (NumberFormatException e) {
                // read once, when the class loads: an error here would fail every open with an obscure one
                org.slf4j.LoggerFactory.getLogger(OpenSteps.class).warn("-D{}={} is not a whole number >= 1;"
                        + " opening models on {} thread(s)", THREADS_PROPERTY, p, n);
            }
        }
        return n;
    }

    /** {@return whether steps run on the pool (else each runs on the opening thread when submitted)} */
    static boolean parallel() {
        return THREADS > 1;
    }

    /**
     * Starts {@code work} on the pool (inline: when it is taken); it is skipped if the open has
     * been abandoned before it begins.
     *
     * @param work   the work
     * @param closer releases its result if the opening thread never takes it
     * @return the step, to {@link #take}
     */
    <T> Step<T> submit(Supplier<T> work, Closer<? super T> closer) {
        FutureTask<T> task = new FutureTask<>(() -> stopped.get() ? null : work.get());
        Step<T> step = new Step<>(task, closer);
        steps.add(step);
        if (!inline) {
            POOL.execute(task);
        }
        return step;
    }

    /**
     * Waits for a step and takes ownership of its result; the step's failure is thrown as it was.
     *
     * @param step the step
     * @return its result
     * @throws CancelledException when the opening thread is interrupted before or while it waits (the flag stays set)
     */
    <T> T take(Step<T> step) {
        if (!inline && Thread.currentThread().isInterrupted()) {
            throw new CancelledException("opening " + what + " was interrupted");
        }
        if (inline) {
            step.task.run(); // on this thread, as the models opened before the pool (an interrupt is seen by the work)
        }
        T value;
        try {
            value = step.task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancelledException("opening " + what + " was interrupted");
        } catch (ExecutionException e) {
            step.taken = true; // failed: nothing to close
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
        step.taken = true;
        return value;
    }

    /**
     * After a failure: skips the steps not yet begun, waits for the running ones (even when
     * interrupted, keeping the flag) and closes every result not taken, in reverse order; close
     * failures are added to {@code failure} as suppressed.
     *
     * @param failure the error the open ends with
     */
    void abandon(Throwable failure) {
        stopped.set(true);
        boolean interrupted = false;
        for (int i = steps.size() - 1; i >= 0; i--) {
            Step<?> step = steps.get(i);
            if (step.taken) {
                continue;
            }
            if (inline ? !step.task.isDone() : POOL.remove(step.task)) {
                step.taken = true; // never began
                continue;
            }
            while (true) {
                try {
                    closeResult(step, step.task.get(), failure);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    break; // failed: nothing was made
                }
            }
            step.taken = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> void closeResult(Step<T> step, Object value, Throwable failure) {
        if (value == null) {
            return;
        }
        try {
            step.closer.close((T) value);
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
    }
}
