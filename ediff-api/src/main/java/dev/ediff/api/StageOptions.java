package dev.ediff.api;

import java.util.Optional;

/**
 * Per-stage overrides of a cascade's defaults (from the model): sampler, steps, guidance, schedule
 * and, for super-resolution stages, the noise-augmentation sigma of the low-resolution input.
 * Immutable; unset fields keep the stage's defaults. For the first stage, a setting given here and
 * on the {@link Request} itself is an error (the request's settings are the first stage's).
 */
public final class StageOptions {

    private final Sampler sampler;
    private final Integer steps;
    private final Guidance guidance;
    private final Double augmentationSigma;
    private final NoiseSchedule schedule;

    private StageOptions(Sampler sampler, Integer steps, Guidance guidance, Double augmentationSigma,
                         NoiseSchedule schedule) {
        this.sampler = sampler;
        this.steps = steps;
        this.guidance = guidance;
        this.augmentationSigma = augmentationSigma;
        this.schedule = schedule;
    }

    /** {@return no overrides} */
    public static StageOptions defaults() {
        return new StageOptions(null, null, null, null, null);
    }

    /**
     * The sampler and its number of steps.
     *
     * @param s the sampler
     * @param n the steps, at least 1
     * @return new options
     */
    public StageOptions sampler(Sampler s, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + n);
        }
        return new StageOptions(java.util.Objects.requireNonNull(s, "sampler"), n, guidance, augmentationSigma,
                schedule);
    }

    /**
     * The number of steps.
     *
     * @param n at least 1
     * @return new options
     */
    public StageOptions steps(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + n);
        }
        return new StageOptions(sampler, n, guidance, augmentationSigma, schedule);
    }

    /**
     * The text guidance.
     *
     * @param g the guidance
     * @return new options
     */
    public StageOptions guidance(Guidance g) {
        return new StageOptions(sampler, steps, java.util.Objects.requireNonNull(g, "guidance"), augmentationSigma,
                schedule);
    }

    /**
     * The noise schedule.
     *
     * @param s the schedule
     * @return new options
     */
    public StageOptions schedule(NoiseSchedule s) {
        return new StageOptions(sampler, steps, guidance, augmentationSigma, java.util.Objects.requireNonNull(s,
                "schedule"));
    }

    /**
     * The noise level the upsampled low-resolution input is noised to.
     *
     * @param sigma finite and {@code >= 0}
     * @return new options
     */
    public StageOptions augmentationSigma(double sigma) {
        if (!Double.isFinite(sigma) || sigma < 0) {
            throw new IllegalArgumentException("augmentation sigma must be finite and >= 0, got " + sigma);
        }
        return new StageOptions(sampler, steps, guidance, sigma, schedule);
    }

    /** {@return the sampler override, if set} */
    public Optional<Sampler> sampler() {
        return Optional.ofNullable(sampler);
    }

    /** {@return the steps override, if set} */
    public Optional<Integer> steps() {
        return Optional.ofNullable(steps);
    }

    /** {@return the guidance override, if set} */
    public Optional<Guidance> guidance() {
        return Optional.ofNullable(guidance);
    }

    /** {@return the augmentation sigma override, if set} */
    public Optional<Double> augmentationSigma() {
        return Optional.ofNullable(augmentationSigma);
    }

    /** @return the schedule, if set */
    public Optional<NoiseSchedule> schedule() {
        return Optional.ofNullable(schedule);
    }
}
