package dev.ediff.serve;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.Progress;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One generation asked for through the server: its state, its latest progress, and once done its
 * images as PNG bytes (with the parameters in text chunks). Thread-safe: the worker writes, any
 * number of HTTP handlers read and wait for changes. Only the latest progress is kept, so a slow
 * reader skips evaluations instead of the server buffering them.
 */
final class Job {

    /** Where a job is. */
    enum State {
        QUEUED, RUNNING, DONE, FAILED, CANCELLED;

        boolean finished() {
            return this == DONE || this == FAILED || this == CANCELLED;
        }

        String json() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One finished image: its seed, size and PNG file bytes. */
    record Image(long seed, int width, int height, byte[] png) {
    }

    private final String id;
    private final List<GenerateForm.PaintedRegion> paints;
    private final CancellationToken cancellation = new CancellationToken();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long version;
    private State state = State.QUEUED;
    private Progress progress;
    private String error;
    private List<Image> images = List.of();
    private Map<String, String> parameters = Map.of();
    private long millis;

    Job(String id, List<GenerateForm.PaintedRegion> paints) {
        this.id = id;
        this.paints = List.copyOf(paints);
    }

    String id() {
        return id;
    }

    List<GenerateForm.PaintedRegion> paints() {
        return paints;
    }

    CancellationToken cancellation() {
        return cancellation;
    }

    /** An immutable view of the job at one moment. */
    record Snapshot(long version, State state, Progress progress, String error, List<Image> images,
                    Map<String, String> parameters, long millis) {
    }

    Snapshot snapshot() {
        lock.lock();
        try {
            return new Snapshot(version, state, progress, error, images, parameters, millis);
        } finally {
            lock.unlock();
        }
    }

    /** Waits until the job changed after {@code seen} or {@code timeoutMillis} passed; returns the snapshot. */
    Snapshot awaitChange(long seen, long timeoutMillis) throws InterruptedException {
        long nanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        lock.lock();
        try {
            while (version == seen && nanos > 0) {
                nanos = changed.awaitNanos(nanos);
            }
            return new Snapshot(version, state, progress, error, images, parameters, millis);
        } finally {
            lock.unlock();
        }
    }

    void running() {
        update(() -> state = State.RUNNING);
    }

    void progress(Progress p) {
        update(() -> progress = p);
    }

    void done(List<Image> result, Map<String, String> params, long ms) {
        update(() -> {
            state = State.DONE;
            images = List.copyOf(result);
            parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(params));
            millis = ms;
        });
    }

    void failed(String message, long ms) {
        update(() -> {
            state = State.FAILED;
            error = message;
            millis = ms;
        });
    }

    void cancelled(String message, long ms) {
        update(() -> {
            state = State.CANCELLED;
            error = message;
            millis = ms;
        });
    }

    private void update(Runnable change) {
        lock.lock();
        try {
            if (state.finished()) {
                return;
            }
            change.run();
            version++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
