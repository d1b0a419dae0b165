package dev.ediff.api;

/**
 * A sampler walks a decreasing list of noise levels, calling the denoiser, and turns noise into
 * data. Implementations follow k-diffusion's shape: one small algorithm over a sigma list.
 */
public interface Sampler {

    /** {@return a short identifier, e.g. {@code "heun"}} */
    String name();

    /**
     * The options that, with {@link #name()}, recreate this sampler through its
     * {@link SamplerProvider} (written into the generation parameters, e.g. {@code s_churn=0.5}).
     * Values are text; numbers as {@link Double#toString(double)} writes them, so they read back exactly.
     *
     * @return the options by name (empty for a sampler without options)
     */
    default java.util.Map<String, String> options() {
        return java.util.Map.of();
    }

    /** {@return true when the sampler consumes noise from its {@link NoiseSource}} */
    default boolean isStochastic() {
        return false;
    }

    /**
     * Runs the sampler, updating {@code x} in place.
     *
     * @param model    the denoiser
     * @param x        the initial state, already scaled by {@code sigmas[0]}; holds the result on return
     * @param sigmas   the noise levels, strictly decreasing, usually ending in 0
     * @param noise    noise for stochastic samplers
     * @param callback told about every step
     */
    void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback);
}
