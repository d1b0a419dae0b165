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

    /**
     * The sigma list for {@code steps} steps of {@code sampler}. A schedule that reproduces another
     * library's scheduler, whose levels depend on the solver (diffusers' Euler and DPM-Solver derive
     * different timesteps from one configuration), overrides it; the default ignores the sampler.
     *
     * @param steps   the number of sampler steps, at least 1
     * @param sampler the sampler that will walk the levels
     * @return {@code steps + 1} strictly decreasing values, the last being 0
     */
    default double[] sigmas(int steps, Sampler sampler) {
        return sigmas(steps);
    }

    /**
     * The factor that turns unit Gaussian noise into the first sample for {@code sigmas}: the
     * default {@code sigmas[0]}; a variance-preserving model started the way its own scheduler
     * starts may need {@code sqrt(sigmas[0]^2 + 1)}.
     *
     * @param sigmas  the levels returned by {@link #sigmas(int, Sampler)}
     * @param sampler the sampler that will walk them
     * @return the scale, {@code > 0}
     */
    default double initialNoiseScale(double[] sigmas, Sampler sampler) {
        return sigmas[0];
    }
}
