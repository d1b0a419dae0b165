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

    public StageOptions sampler(Sampler s, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + n);
        }
        return new StageOptions(java.util.Objects.requireNonNull(s, "sampler"), n, guidance, augmentationSigma);
    }

    public StageOptions steps(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + n);
        }
        return new StageOptions(sampler, n, guidance, augmentationSigma);
    }

    public StageOptions guidance(Guidance g) {
        return new StageOptions(sampler, steps, java.util.Objects.requireNonNull(g, "guidance"), augmentationSigma);
    }

    /** The noise level the upsampled low-resolution input is noised to, finite and {@code >= 0}. */
    public StageOptions augmentationSigma(double sigma) {
        if (!Double.isFinite(sigma) || sigma < 0) {
            throw new IllegalArgumentException("augmentation sigma must be finite and >= 0, got " + sigma);
        }
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
