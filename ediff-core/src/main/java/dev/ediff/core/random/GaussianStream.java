package dev.ediff.core.random;

/**
 * A reproducible stream of standard-normal doubles, the same on every JVM, machine and thread
 * count: SplitMix64 (Steele et al. 2014) seeded with {@code mix(seed) ^ mix(stream)}, uniform
 * doubles from its top 53 bits, then Box-Muller in {@link StrictMath} (both outputs used).
 * Each generated image owns its streams, so its noise does not depend on its batch.
 */
public final class GaussianStream {

    private static final double TWO_PI = 2 * Math.PI;

    private long state;
    private double spare;
    private boolean hasSpare;

    /**
     * @param seed   the image seed
     * @param stream which stream of that seed (e.g. initial noise vs sampler noise)
     */
    public GaussianStream(long seed, long stream) {
        this.state = mix(seed) ^ mix(stream + 0x632BE59BD9B4E019L);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return mix(state);
    }

    /** A uniform double in (0, 1). */
    private double nextOpenUniform() {
        return ((nextLong() >>> 11) + 0.5) * 0x1.0p-53;
    }

    /** {@return the next standard-normal value} */
    public double next() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double r = StrictMath.sqrt(-2 * StrictMath.log(nextOpenUniform()));
        double theta = TWO_PI * nextOpenUniform();
        spare = r * StrictMath.sin(theta);
        hasSpare = true;
        return r * StrictMath.cos(theta);
    }

    /**
     * Fills {@code out[from .. from+length)} with the next standard-normal values.
     *
     * @param out    the array
     * @param from   the first index to fill
     * @param length how many values
     */
    public void fill(double[] out, int from, int length) {
        for (int i = from; i < from + length; i++) {
            out[i] = next();
        }
    }
}
