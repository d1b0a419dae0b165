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
     * The largest augmentation sigma: 100, above the largest noise level diffusion models are trained
     * at (EDM's sigma_max is 80), where the low-resolution input is pure noise. Useful values are about
     * 0 to 1.
     */
    public static final double MAX_AUGMENTATION_SIGMA = 100;

    /**
     * This stage's sampler and its steps.
     *
     * @param s the sampler
     * @param n the steps, in 1..{@link Request#MAX_STEPS}
     * @return new options
     * @throws IllegalArgumentException naming the value and the range when the steps are outside it
     */
    public StageOptions sampler(Sampler s, int n) {
        Bounds.intIn("steps", n, 1, Request.MAX_STEPS);
        return new StageOptions(java.util.Objects.requireNonNull(s, "sampler"), n, guidance, augmentationSigma,
                schedule);
    }

    /**
     * This stage's sampler steps.
     *
     * @param n in 1..{@link Request#MAX_STEPS}
     * @return new options
     * @throws IllegalArgumentException naming the value and the range when it is outside
     */
    public StageOptions steps(int n) {
        Bounds.intIn("steps", n, 1, Request.MAX_STEPS);
        return new StageOptions(sampler, n, guidance, augmentationSigma, schedule);
    }

    /**
     * This stage's text guidance (its scale is bounded by {@link Guidance}).
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
     * @param sigma finite and in [0, {@link #MAX_AUGMENTATION_SIGMA}]
     * @return new options
     * @throws IllegalArgumentException naming the value and the range when it is outside
     */
    public StageOptions augmentationSigma(double sigma) {
        Bounds.finiteIn("augmentation sigma", sigma, 0, MAX_AUGMENTATION_SIGMA);
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
