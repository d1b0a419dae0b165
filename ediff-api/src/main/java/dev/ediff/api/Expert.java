package dev.ediff.api;

/**
 * An expert denoiser: given a noisy batch {@code x} at noise level {@code sigma} and its
 * conditioning, estimates the clean data {@code x0 = D(x; sigma, c)}. eDiff-I routes every
 * evaluation to the expert that owns its sigma (see the routing tree in ediff-core).
 *
 * <p>Implement {@link #denoise} for a plain Java expert. A backend holding native resources also
 * overrides {@link #open} to prepare buffers once per generation, and {@link #maxBatch} to say how
 * many samples fit one call (guidance batches its branches into one call when they fit).
 *
 * <p>Values are in "data units" of the variance-exploding form {@code x = x0 + sigma * n}.
 */
@FunctionalInterface
public interface Expert {

    /**
     * Writes {@code D(x; sigma, cond)} into {@code out}.
     *
     * @param x     the noisy batch, flattened per {@code shape}; must not be modified
     * @param shape shape of {@code x} and {@code out}
     * @param sigma the noise level of every sample in the batch, {@code >= 0}
     * @param cond  the conditioning, batch {@code shape.batch()} or {@link Conditioning#NONE}
     * @param out   receives the clean-data estimate, same layout as {@code x}
     */
    void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out);

    /** {@return a name for logs, progress and metadata} */
    default String name() {
        return getClass().getSimpleName();
    }

    /** {@return the largest batch one call accepts} */
    default int maxBatch() {
        return Integer.MAX_VALUE;
    }

    /**
     * Prepares this expert to be called many times with one shape and one conditioning (a whole
     * sampling run). The caller owns the returned session and closes it.
     *
     * @param shape the shape of every batch the session will see
     * @param cond  the conditioning of the whole run
     * @return the session
     */
    default Session open(TensorShape shape, Conditioning cond) {
        return (x, sigma, out) -> denoise(x, shape, sigma, cond, out);
    }

    /** An expert bound to one shape and conditioning for the length of a sampling run. */
    @FunctionalInterface
    interface Session extends AutoCloseable {

        /**
         * Writes {@code D(x; sigma)} into {@code out}.
         *
         * @param x     the noisy batch, of the session's shape
         * @param sigma the noise level
         * @param out   receives the clean-data estimate, same length as {@code x}
         */
        void denoise(double[] x, double sigma, double[] out);

        /**
         * Asks an evaluation that is running on another thread to stop as soon as it can; it then
         * throws. Called on cancellation. The default does nothing (the call simply completes).
         */
        default void abort() {
        }

        /** Releases what {@link Expert#open} acquired. Never throws checked exceptions. */
        @Override
        default void close() {
        }
    }
}
