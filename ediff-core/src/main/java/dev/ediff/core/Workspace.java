package dev.ediff.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Working arrays of generations, reused from one generation to the next: the samplers' state, the
 * guidance batch, the initial noise. A pipeline owns one and binds it to the generating thread for
 * the length of a generation ({@link #bind}); samplers take their arrays from {@link #current()},
 * which without a binding hands out new arrays and keeps nothing, so a sampler run outside a
 * pipeline behaves as before.
 *
 * <p>{@link #take} returns a zero-filled array, as {@code new double[length]} would; an array given
 * back with {@link #give} may be handed out again, so the taker must not use it afterwards. At most
 * {@value #MAX_PER_LENGTH} arrays of each length and {@value #MAX_BYTES} bytes are kept. Thread-safe:
 * concurrent generations of one pipeline take different arrays.
 */
public final class Workspace {

    /** At most this many free arrays of one length are kept. */
    public static final int MAX_PER_LENGTH = 16;
    /** At most this many bytes of free arrays are kept. */
    public static final long MAX_BYTES = 64L << 20;

    private static final ThreadLocal<Workspace> BOUND = new ThreadLocal<>();
    private static final Workspace NONE = new Workspace(false);

    private final boolean keeps;
    private final List<Slot> free = new ArrayList<>(); // one per length; few lengths, so a list (no boxing)
    private long freeBytes;

    /** An empty workspace that keeps the arrays given back to it. */
    public Workspace() {
        this(true);
    }

    private Workspace(boolean keeps) {
        this.keeps = keeps;
    }

    /**
     * The workspace bound to this thread, or one that allocates new arrays and keeps none.
     *
     * @return the workspace to take arrays from
     */
    public static Workspace current() {
        Workspace w = BOUND.get();
        return w != null ? w : NONE;
    }

    /**
     * Binds {@code workspace} to this thread until the returned binding is closed, which restores
     * the previous binding.
     *
     * @param workspace the workspace {@link #current()} returns meanwhile
     * @return the binding, to close on the same thread
     */
    public static Binding bind(Workspace workspace) {
        Workspace previous = BOUND.get();
        BOUND.set(workspace);
        return () -> {
            if (previous == null) {
                BOUND.remove();
            } else {
                BOUND.set(previous);
            }
        };
    }

    /**
     * A zero-filled array of {@code length} values, a kept one when there is one.
     *
     * @param length how many values
     * @return the array, the caller's until it gives it back
     * @throws NegativeArraySizeException if {@code length} is negative
     */
    public double[] take(int length) {
        if (keeps) {
            double[] a;
            synchronized (this) {
                Slot slot = slot(length, false);
                a = slot == null || slot.size == 0 ? null : slot.items[--slot.size];
                if (a != null) {
                    slot.items[slot.size] = null;
                    freeBytes -= 8L * length;
                }
            }
            if (a != null) {
                Arrays.fill(a, 0.0);
                return a;
            }
        }
        return new double[length];
    }

    /**
     * Gives an array back for reuse; the caller must not use it any more. Ignores {@code null}.
     *
     * @param array an array from {@link #take} (or any other, which is then kept as well)
     */
    public void give(double[] array) {
        if (!keeps || array == null) {
            return;
        }
        synchronized (this) {
            Slot slot = slot(array.length, true);
            if (slot.size < MAX_PER_LENGTH && freeBytes + 8L * array.length <= MAX_BYTES) {
                slot.items[slot.size++] = array;
                freeBytes += 8L * array.length;
            }
        }
    }

    /**
     * A lease on this workspace for one run of a sampler: arrays taken through it all go back when
     * it closes, so a sampler that swaps its arrays between steps need not remember which it took.
     *
     * @return the lease; close it (try-with-resources)
     */
    public Lease lease() {
        return new Lease(this);
    }

    /** Drops every kept array. */
    public synchronized void clear() {
        free.clear();
        freeBytes = 0;
    }

    /** {@return the bytes of the arrays kept for reuse} */
    public synchronized long keptBytes() {
        return freeBytes;
    }

    private Slot slot(int length, boolean create) {
        for (Slot s : free) {
            if (s.length == length) {
                return s;
            }
        }
        if (!create) {
            return null;
        }
        Slot s = new Slot(length);
        free.add(s);
        return s;
    }

    /** The free arrays of one length, a stack. */
    private static final class Slot {
        final int length;
        final double[][] items = new double[MAX_PER_LENGTH][];
        int size;

        Slot(int length) {
            this.length = length;
        }
    }

    /** Arrays taken from a workspace, given back together by {@link #close()}. Not thread-safe. */
    public static final class Lease implements AutoCloseable {
        private final Workspace workspace;
        private double[][] taken = new double[4][];
        private int count;

        private Lease(Workspace workspace) {
            this.workspace = workspace;
        }

        /**
         * A zero-filled array of {@code length} values, as {@link Workspace#take} gives, held until
         * the lease closes.
         *
         * @param length how many values
         * @return the array
         */
        public double[] take(int length) {
            double[] a = workspace.take(length);
            if (count == taken.length) {
                taken = Arrays.copyOf(taken, 2 * count);
            }
            taken[count++] = a;
            return a;
        }

        /** Gives every array taken through this lease back; they must not be used any more. */
        @Override
        public void close() {
            for (int i = 0; i < count; i++) {
                workspace.give(taken[i]);
                taken[i] = null;
            }
            count = 0;
        }
    }

    /** Ends a {@link #bind binding}. */
    @FunctionalInterface
    public interface Binding extends AutoCloseable {
        /** Restores the binding from before. */
        @Override
        void close();
    }
}
