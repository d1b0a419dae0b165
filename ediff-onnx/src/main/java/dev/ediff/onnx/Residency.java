package dev.ediff.onnx;

import dev.ediff.api.MemoryMode;
import dev.ediff.core.GenerationScope;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Which of a pipeline's networks are loaded, under {@link MemoryMode}: with
 * {@link MemoryMode#RESIDENT} every network is loaded at open and this only counts them; with
 * {@link MemoryMode#LAZY} a network is loaded when a generation first uses it and unloaded as soon
 * as no running generation needs it any more:
 * <ul>
 *   <li>a {@link Kind#CONDITIONING} network (text or image encoder) is released by a generation
 *       when that generation starts denoising ({@link #denoising});</li>
 *   <li>a {@link Kind#DENOISER} of stage {@code s} serving noise levels at and above {@code low} is
 *       released when the generation denoises a later stage, or its own stage at a noise level below
 *       {@code low} (within a stage the noise level only falls, so the expert is not needed again);</li>
 *   <li>a {@link Kind#DECODER} is released when the generation ends; starting to decode
 *       ({@link #decoding}) releases the generation's denoisers;</li>
 *   <li>when the generation ends, everything it still holds is released.</li>
 * </ul>
 * A network is unloaded when no generation holds it, so concurrent generations never lose a
 * network another one is using. A use outside a generation (an encoder called directly) loads
 * the network for that call only. The pipeline owns this object; it is a {@link GenerationScope}
 * (the pipeline tells it when generations begin and end on which thread). Thread-safe.
 */
public final class Residency implements GenerationScope, AutoCloseable {

    /** What a network does in a generation, which decides when a lazy generation releases it. */
    public enum Kind {
        /** A text or image encoder: needed before denoising. */
        CONDITIONING,
        /** An expert denoiser: needed while the noise level is in its interval. */
        DENOISER,
        /** A decoder (e.g. a VAE): needed after denoising. */
        DECODER
    }

    /**
     * Where a network sits in a generation.
     *
     * @param kind  what it does
     * @param stage the stage index of a denoiser (0 for the first stage; ignored for other kinds)
     * @param low   the lowest noise level of a denoiser's interval (0 when it serves down to 0;
     *              ignored for other kinds)
     */
    public record Placement(Kind kind, int stage, double low) {

        /** A text or image encoder. */
        public static final Placement CONDITIONING = new Placement(Kind.CONDITIONING, 0, 0);

        /** A decoder. */
        public static final Placement DECODER = new Placement(Kind.DECODER, 0, 0);

        /**
         * A denoiser.
         *
         * @param stage its stage index
         * @param low   the lowest noise level of its interval (0: down to 0)
         * @return the placement
         */
        public static Placement denoiser(int stage, double low) {
            return new Placement(Kind.DENOISER, stage, low);
        }
    }

    /** A network that can be loaded and unloaded, e.g. an ONNX Runtime session. */
    public interface Loadable {
        /** Loads the network (called when no copy is loaded). */
        void load();

        /** Releases the network (called when it is loaded and nobody holds it). */
        void unload();
    }

    /** One network under this residency. */
    public final class Slot {
        private final Loadable network;
        private final Placement placement;
        private final String name;
        private int users; // guarded by Residency.this
        private boolean loaded; // guarded by Residency.this

        private Slot(Loadable network, Placement placement, String name, boolean loaded) {
            this.network = network;
            this.placement = placement;
            this.name = name;
            this.loaded = loaded;
        }

        /** @return the residency this slot belongs to */
        public Residency residency() {
            return Residency.this;
        }

        /** @return where the network sits in a generation */
        public Placement placement() {
            return placement;
        }

        /**
         * Runs {@code body} with the network loaded: inside a generation the generation keeps holding
         * it afterwards (until the rules above release it); outside one, it is held for this call only.
         *
         * @param body the use of the network
         * @param <T>  the result type
         * @return what {@code body} returns
         * @throws IllegalStateException when the residency is closed
         */
        public <T> T use(Supplier<T> body) {
            try (Hold ignored = hold()) {
                return body.get();
            }
        }

        /**
         * Loads the network if needed and holds it until the returned hold is closed (outside a
         * generation), or for the generation (inside one), as {@link #use} does.
         *
         * @return the hold; close it after the use
         * @throws IllegalStateException when the residency is closed
         */
        public Hold hold() {
            Generation g = current();
            acquire(this, g);
            if (g == null && lazy) {
                return () -> releaseOne(this);
            }
            return () -> { };
        }

        @Override
        public String toString() {
            return "Slot[" + name + ", " + placement.kind() + "]";
        }
    }

    /** A network held for one use ({@link Slot#hold()}). */
    @FunctionalInterface
    public interface Hold extends AutoCloseable {
        /** Ends the use. */
        @Override
        void close();
    }

    /** The networks one generation holds. */
    private static final class Generation {
        final Set<Slot> held = new LinkedHashSet<>();
    }

    private final boolean lazy;
    private final List<Slot> slots = new ArrayList<>();
    private final ThreadLocal<Deque<Generation>> generations = ThreadLocal.withInitial(ArrayDeque::new);
    private int loadedNow; // guarded by this
    private int peak; // guarded by this
    private long loads; // guarded by this
    private long unloads; // guarded by this
    private long loadNanos; // guarded by this
    private boolean closed; // guarded by this

    private Residency(boolean lazy) {
        this.lazy = lazy;
    }

    /**
     * A residency for {@code mode}.
     *
     * @param mode the memory mode of the load options
     * @return a new residency
     */
    public static Residency of(MemoryMode mode) {
        return new Residency(mode == MemoryMode.LAZY);
    }

    /** @return whether networks are loaded only while generations need them */
    public boolean isLazy() {
        return lazy;
    }

    /**
     * Registers a network. Under {@link MemoryMode#RESIDENT} it must be loaded already and stays so;
     * under {@link MemoryMode#LAZY} it must be unloaded (checked at open, then released).
     *
     * @param network   the network
     * @param placement where it sits in a generation
     * @param name      for messages (e.g. its file)
     * @return its slot
     */
    public synchronized Slot register(Loadable network, Placement placement, String name) {
        Slot s = new Slot(network, placement, name, !lazy);
        slots.add(s);
        if (!lazy) {
            loaded(1);
        }
        return s;
    }

    /**
     * Removes a network from the counts (the pipeline closes it); under {@link MemoryMode#LAZY} a
     * loaded copy is unloaded.
     *
     * @param slot the slot {@link #register} returned
     */
    public void unregister(Slot slot) {
        boolean unload;
        synchronized (this) {
            if (!slots.remove(slot)) {
                return;
            }
            unload = slot.loaded;
            slot.loaded = false;
            if (unload) {
                loadedNow--;
                unloads++;
            }
        }
        if (unload && lazy) {
            slot.network.unload();
        }
    }

    /** @return how many networks are loaded now */
    public synchronized int loadedNow() {
        return loadedNow;
    }

    /** @return the most networks loaded at once since open (or the last {@link #resetPeak()}) */
    public synchronized int peakLoaded() {
        return peak;
    }

    /** Restarts {@link #peakLoaded()} from the networks loaded now. */
    public synchronized void resetPeak() {
        peak = loadedNow;
    }

    /** @return how many times a network was loaded (including the initial loads under RESIDENT) */
    public synchronized long loads() {
        return loads;
    }

    /** @return the time spent loading networks on demand (lazy mode), in nanoseconds */
    public synchronized long loadNanos() {
        return loadNanos;
    }

    /** @return how many times a network was unloaded */
    public synchronized long unloads() {
        return unloads;
    }

    @Override
    public void begin() {
        generations.get().push(new Generation());
    }

    @Override
    public void end() {
        Deque<Generation> stack = generations.get();
        Generation g = stack.poll();
        if (stack.isEmpty()) {
            generations.remove();
        }
        if (g != null) {
            release(g, s -> true);
        }
    }

    /**
     * The calling thread's generation starts (or continues) denoising stage {@code stage} at
     * {@code sigma}: it releases its encoders, the denoisers of earlier stages, and those of this
     * stage whose interval lies above {@code sigma}.
     *
     * @param stage the stage index
     * @param sigma the noise level about to be evaluated
     */
    public void denoising(int stage, double sigma) {
        Generation g = current();
        if (g != null && lazy) {
            release(g, s -> switch (s.placement.kind()) {
                case CONDITIONING -> true;
                case DENOISER -> s.placement.stage() < stage || (s.placement.stage() == stage && sigma < s.placement.low());
                case DECODER -> false;
            });
        }
    }

    /** The calling thread's generation starts decoding: it releases its denoisers and encoders. */
    public void decoding() {
        Generation g = current();
        if (g != null && lazy) {
            release(g, s -> s.placement.kind() != Kind.DECODER);
        }
    }

    /** Refuses further loads; the owners close (and {@link #unregister}) their networks. */
    @Override
    public synchronized void close() {
        closed = true;
    }

    private Generation current() {
        Deque<Generation> stack = generations.get();
        Generation g = stack.peek();
        if (g == null) {
            generations.remove();
        }
        return g;
    }

    private void acquire(Slot s, Generation g) {
        if (!lazy) {
            return;
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(s.name + " is closed");
            }
            if (g != null && !g.held.add(s)) {
                return; // this generation already holds it
            }
            s.users++;
            if (s.loaded) {
                return;
            }
            long t0 = System.nanoTime();
            try {
                s.network.load(); // under the lock: a second user waits for the first load
                loadNanos += System.nanoTime() - t0;
            } catch (RuntimeException | Error e) {
                s.users--;
                if (g != null) {
                    g.held.remove(s);
                }
                throw e;
            }
            s.loaded = true;
            loaded(1);
        }
    }

    private void release(Generation g, java.util.function.Predicate<Slot> which) {
        List<Slot> drop = new ArrayList<>();
        synchronized (this) {
            for (java.util.Iterator<Slot> it = g.held.iterator(); it.hasNext(); ) {
                Slot s = it.next();
                if (which.test(s)) {
                    it.remove();
                    drop.add(s);
                }
            }
        }
        RuntimeException failure = null;
        for (Slot s : drop) {
            try {
                releaseOne(s);
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

    private synchronized void releaseOne(Slot s) {
        if (--s.users > 0 || !s.loaded) {
            return;
        }
        s.loaded = false;
        loadedNow--;
        unloads++;
        s.network.unload();
    }

    private void loaded(int n) {
        loadedNow += n;
        loads += n;
        peak = Math.max(peak, loadedNow);
    }

    @Override
    public synchronized String toString() {
        return "Residency[" + (lazy ? "lazy" : "resident") + ", loaded " + loadedNow + "/" + slots.size() + ", peak " + peak
                + "]";
    }
}
