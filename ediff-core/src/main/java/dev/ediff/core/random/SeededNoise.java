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

    private SeededNoise() {
    }

    /** Standard-normal initial noise for images with these seeds, {@code sampleSize} values each. */
    public static double[] initial(long[] seeds, int sampleSize) {
        double[] out = new double[seeds.length * sampleSize];
        for (int b = 0; b < seeds.length; b++) {
            new GaussianStream(seeds[b], INITIAL).fill(out, b * sampleSize, sampleSize);
        }
        return out;
    }

    /** A noise source for stochastic samplers: each call fills each image's part from its own stream. */
    public static NoiseSource sampler(long[] seeds, int sampleSize) {
        GaussianStream[] streams = new GaussianStream[seeds.length];
        for (int b = 0; b < seeds.length; b++) {
            streams[b] = new GaussianStream(seeds[b], SAMPLER);
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
