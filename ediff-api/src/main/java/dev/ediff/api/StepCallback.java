package dev.ediff.api;

/** Told by a sampler about each step, after its first denoiser evaluation. */
@FunctionalInterface
public interface StepCallback {

    /**
     * @param step     the step index {@code i}, from 0
     * @param sigma    {@code sigmas[i]}
     * @param x        the state {@code x_i} (read only; valid during the call)
     * @param denoised {@code D(x_i; sigma_i)} (read only; valid during the call)
     */
    void onStep(int step, double sigma, double[] x, double[] denoised);

    /** A callback that does nothing. */
    StepCallback NONE = (step, sigma, x, denoised) -> { };
}
