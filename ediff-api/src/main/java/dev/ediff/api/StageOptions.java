package dev.ediff.api;

import java.util.Optional;

/**
 * Per-stage overrides of a cascade's defaults (from the model): sampler, steps, guidance and, for
 * super-resolution stages, the noise-augmentation sigma of the low-resolution input. Immutable;
 * unset fields keep the stage's defaults.
 */
public final class StageOptions {

    private final Sampler sampler;
    private final Integer steps;
    private final Guidance guidance;
    private final Double augmentationSigma;

    private StageOptions(Sampler sampler, Integer steps, Guidance guidance, Double augmentationSigma) {
        this.sampler = sampler;
        this.steps = steps;
        this.guidance = guidance;
        this.augmentationSigma = augmentationSigma;
    }

    /** No overrides. */
    public static StageOptions defaults() {
        return new StageOptions(null, null, null, null);
    }

    /**
     * The largest augmentation sigma: 100, above the largest noise level diffusion models are trained
     * at (EDM's sigma_max is 80), where the low-resolution input is pure noise. Useful values are about
     * 0 to 1.
     */
    public static final double MAX_AUGMENTATION_SIGMA = 100;

    /**
     * This stage's sampler and its steps, in 1..{@link Request#MAX_STEPS}.
     *
     * @throws IllegalArgumentException naming the value and the range when the steps are outside it
     */
    public StageOptions sampler(Sampler s, int n) {
        Bounds.intIn("steps", n, 1, Request.MAX_STEPS);
        return new StageOptions(java.util.Objects.requireNonNull(s, "sampler"), n, guidance, augmentationSigma);
    }

    /**
     * This stage's sampler steps, in 1..{@link Request#MAX_STEPS}.
     *
     * @throws IllegalArgumentException naming the value and the range when it is outside
     */
    public StageOptions steps(int n) {
        Bounds.intIn("steps", n, 1, Request.MAX_STEPS);
        return new StageOptions(sampler, n, guidance, augmentationSigma);
    }

    /** This stage's guidance (its scale is bounded by {@link Guidance}). */
    public StageOptions guidance(Guidance g) {
        return new StageOptions(sampler, steps, java.util.Objects.requireNonNull(g, "guidance"), augmentationSigma);
    }

    /**
     * The noise level the upsampled low-resolution input is noised to, finite and in
     * [0, {@link #MAX_AUGMENTATION_SIGMA}].
     *
     * @throws IllegalArgumentException naming the value and the range when it is outside
     */
    public StageOptions augmentationSigma(double sigma) {
        Bounds.finiteIn("augmentation sigma", sigma, 0, MAX_AUGMENTATION_SIGMA);
        return new StageOptions(sampler, steps, guidance, sigma);
    }

    public Optional<Sampler> sampler() {
        return Optional.ofNullable(sampler);
    }

    public Optional<Integer> steps() {
        return Optional.ofNullable(steps);
    }

    public Optional<Guidance> guidance() {
        return Optional.ofNullable(guidance);
    }

    public Optional<Double> augmentationSigma() {
        return Optional.ofNullable(augmentationSigma);
    }
}
