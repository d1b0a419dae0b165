package dev.ediff.api;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Cancels a running generation from any thread. The generation stops within one denoiser
 * evaluation (backends that can abort a running model call do so at once), releases everything it
 * holds and throws {@link CancelledException}. Interrupting the generating thread has the same effect.
 */
public final class CancellationToken {

    private volatile boolean cancelled;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    /** Requests cancellation. Idempotent. */
    public void cancel() {
        if (!cancelled) {
            cancelled = true;
            listeners.forEach(Runnable::run);
        }
    }

    /** {@return true once {@link #cancel} was called} */
    public boolean isCancelled() {
        return cancelled;
    }

    /**
     * Runs {@code action} on cancellation (at once if already cancelled). For SDK internals and
     * backends.
     *
     * @param action what to run once, on the cancelling thread
     * @return a handle whose {@code close()} removes the action again
     */
    public AutoCloseable onCancel(Runnable action) {
        listeners.add(action);
        if (cancelled) {
            action.run();
        }
        return () -> listeners.remove(action);
    }
}
