package dev.ediff.api;

/**
 * Standard-normal noise for stochastic samplers, injected so that runs are reproducible and
 * testable. A sampler calls {@link #next} at most once per step.
 */
@FunctionalInterface
public interface NoiseSource {

    /**
     * Fills {@code out} (one whole batch) with independent standard-normal values.
     *
     * @param out the array to fill
     */
    void next(double[] out);

    /** A source for deterministic samplers: calling it is a bug. */
    NoiseSource NONE = out -> {
        throw new IllegalStateException("this sampler was given no noise source");
    };
}
