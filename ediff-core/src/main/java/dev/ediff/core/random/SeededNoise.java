package dev.ediff.core.random;

import dev.ediff.api.NoiseSource;

/**
 * Per-image noise for a batch: image {@code b} draws from streams of its own seed only, so image
 * {@code b} of a batch is bit-identical to the same seed generated alone.
 */
public final class SeededNoise {

    /** Stream id of the initial noise. */
    public static final long INITIAL = 0;
    /** Stream id of the noise that stochastic samplers consume. */
    public static final long SAMPLER = 1;
    /** Stream id of a super-resolution stage's noise augmentation of its low-res input. */
    public static final long AUGMENTATION = 2;
    /** Stage {@code k} of a cascade uses stream ids {@code k * STAGE_STRIDE + (INITIAL, SAMPLER, AUGMENTATION)}. */
    public static final long STAGE_STRIDE = 10;

    private SeededNoise() {
    }

    /**
     * The stream {@code kind} of cascade stage {@code stage} for an image seed.
     *
     * @param seed  the image's seed
     * @param stage the cascade stage index
     * @param kind  which stream (initial noise, sampler noise, ...)
     * @return the stream
     */
    public static GaussianStream stream(long seed, int stage, long kind) {
        return new GaussianStream(seed, stage * STAGE_STRIDE + kind);
    }

    /**
     * Standard-normal initial noise for images with these seeds (stage 0).
     *
     * @param seeds      one seed per image
     * @param sampleSize values per image
     * @return {@code seeds.length * sampleSize} values
     */
    public static double[] initial(long[] seeds, int sampleSize) {
        return initial(seeds, sampleSize, 0);
    }

    /**
     * Standard-normal initial noise of cascade stage {@code stage}.
     *
     * @param seeds      one seed per image
     * @param sampleSize values per image
     * @param stage      the cascade stage index
     * @return {@code seeds.length * sampleSize} values
     */
    public static double[] initial(long[] seeds, int sampleSize, int stage) {
        double[] out = new double[seeds.length * sampleSize];
        fill(seeds, sampleSize, stage, out);
        return out;
    }

    /**
     * Fills {@code out} with the standard-normal initial noise of cascade stage {@code stage}, the
     * values {@link #initial(long[], int, int)} returns.
     *
     * @param seeds      one seed per image
     * @param sampleSize values per image
     * @param stage      the cascade stage index
     * @param out        {@code seeds.length * sampleSize} values to overwrite
     * @throws IllegalArgumentException if {@code out} has another length
     */
    public static void fill(long[] seeds, int sampleSize, int stage, double[] out) {
        if (out.length != (long) seeds.length * sampleSize) {
            throw new IllegalArgumentException("noise buffer of " + out.length + " values, expected "
                    + (long) seeds.length * sampleSize);
        }
        for (int b = 0; b < seeds.length; b++) {
            stream(seeds[b], stage, INITIAL).fill(out, b * sampleSize, sampleSize);
        }
    }

    /**
     * A noise source for stochastic samplers (stage 0): each call fills each image's part from its own stream.
     *
     * @param seeds      one seed per image
     * @param sampleSize values per image
     * @return the noise source
     */
    public static NoiseSource sampler(long[] seeds, int sampleSize) {
        return sampler(seeds, sampleSize, 0);
    }

    /**
     * The stochastic samplers' noise source of cascade stage {@code stage}.
     *
     * @param seeds      one seed per image
     * @param sampleSize values per image
     * @param stage      the cascade stage index
     * @return the noise source
     */
    public static NoiseSource sampler(long[] seeds, int sampleSize, int stage) {
        GaussianStream[] streams = new GaussianStream[seeds.length];
        for (int b = 0; b < seeds.length; b++) {
            streams[b] = stream(seeds[b], stage, SAMPLER);
        }
        return out -> {
            if (out.length != seeds.length * sampleSize) {
                throw new IllegalArgumentException("noise buffer of " + out.length + " values, expected "
                        + seeds.length * sampleSize);
            }
            for (int b = 0; b < streams.length; b++) {
                streams[b].fill(out, b * sampleSize, sampleSize);
            }
        };
    }
}
