package dev.ediff.api;

/** Chooses the noise levels a sampler walks through. */
@FunctionalInterface
public interface NoiseSchedule {

    /**
     * The sigma list for {@code steps} steps.
     *
     * @param steps the number of sampler steps, at least 1
     * @return {@code steps + 1} strictly decreasing values, the last being 0
     */
    double[] sigmas(int steps);
}
