package dev.ediff.core;

import java.util.List;

/**
 * Resources (sessions, encoders) shared by the pipelines derived from one another with
 * {@link EDiff#toBuilder()}: the one owner of those resources, which closes them (in reverse order
 * of adding) when the last pipeline using them releases them. Thread-safe.
 */
final class SharedResources {

    private final List<AutoCloseable> resources;
    private int users;
    private boolean closed;

    SharedResources(List<AutoCloseable> resources) {
        this.resources = List.copyOf(resources);
    }

    /**
     * Registers one more pipeline using the resources.
     *
     * @throws IllegalStateException when they were closed already (every pipeline using them is closed)
     */
    /** The resources that are {@link GenerationScope}s, in the order they were added. */
    List<GenerationScope> scopes() {
        return resources.stream().filter(GenerationScope.class::isInstance).map(GenerationScope.class::cast).toList();
    }

    synchronized void acquire() {
        if (closed) {
            throw new IllegalStateException("the pipeline this builder came from is closed, and so are its models;"
                    + " call toBuilder() on an open pipeline");
        }
        users++;
    }

    /**
     * One pipeline stops using the resources; the last one closes them.
     *
     * @throws IllegalStateException when closing a resource fails (the others are closed anyway)
     */
    void release() {
        synchronized (this) {
            if (closed || --users > 0) {
                return;
            }
            closed = true;
        }
        inReverse(resources, r -> {
            try {
                r.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + r + " failed", e);
            }
        });
    }

    /**
     * Acquires each of {@code all}, or none of them.
     *
     * @throws IllegalStateException when one of them is closed already
     */
    static void acquireAll(List<SharedResources> all) {
        for (int i = 0; i < all.size(); i++) {
            try {
                all.get(i).acquire();
            } catch (IllegalStateException e) {
                all.subList(0, i).forEach(SharedResources::release);
                throw e;
            }
        }
    }

    /**
     * Releases each of {@code all}, in reverse order, even when one fails.
     *
     * @throws IllegalStateException the first failure, with the others suppressed
     */
    static void releaseAll(List<SharedResources> all) {
        inReverse(all, SharedResources::release);
    }

    /** Applies {@code action} to each of {@code items}, last first, every one even when some fail. */
    private static <T> void inReverse(List<T> items, java.util.function.Consumer<T> action) {
        RuntimeException failure = null;
        for (int i = items.size() - 1; i >= 0; i--) {
            try {
                action.accept(items.get(i));
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
