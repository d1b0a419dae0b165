package dev.ediff.core;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.StageOptions;
import dev.ediff.core.schedule.Schedules;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What a generation runs, per stage, resolved before the first stage starts: the stages up to
 * the request's last one, the seeds, and each stage's sampler, steps, guidance, sigmas and
 * augmentation. The same record becomes the generation's parameters, so they say what ran.
 *
 * @param request   the request
 * @param firstSeed the seed of image 0 (drawn at random when the request has none)
 * @param stages    what each stage runs, in order
 */
record GenerationRecord(Request request, long firstSeed, List<StageRecord> stages) {

    /**
     * The settings one stage runs with.
     *
     * @param stage             the stage name
     * @param sampler           the sampler
     * @param steps             the number of steps
     * @param guidance          the text guidance
     * @param sigmas            the sigma list walked
     * @param augmentationSigma the noise level of the low-resolution input (super-resolution stages), else null
     * @param noiseScale        the factor from unit noise to the first sample ({@link NoiseSchedule#initialNoiseScale})
     */
    record StageRecord(String stage, Sampler sampler, int steps, Guidance guidance, double[] sigmas,
                       Double augmentationSigma, double noiseScale) {

        OptionalDouble augmentation() {
            return augmentationSigma == null ? OptionalDouble.empty() : OptionalDouble.of(augmentationSigma);
        }
    }

    /**
     * Resolves what {@code request} runs on {@code all}: the request's settings for the first stage
     * (or its per-stage options), the per-stage options or the stage's defaults for the others.
     *
     * @throws IllegalArgumentException for an unknown stage name, or a schedule of the request that
     *                                  returns an unusable sigma list
     * @throws EDiffException           when a stage's own schedule does
     */
    static GenerationRecord plan(List<Stage> all, Request request) {
        int last = request.untilStage().map(s -> index(all, s)).orElse(all.size() - 1);
        for (String s : request.stagesWithOptions()) {
            index(all, s);
        }
        long first = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
        List<StageRecord> stages = new ArrayList<>();
        for (int k = 0; k <= last; k++) {
            stages.add(resolve(all.get(k), k == 0, request));
        }
        return new GenerationRecord(request, first, List.copyOf(stages));
    }

    private static StageRecord resolve(Stage stage, boolean first, Request request) {
        StageOptions opts = request.stageOptions(stage.name()).orElse(StageOptions.defaults());
        if (first) {
            checkNotTwice(stage, "sampler", opts.sampler(), request.sampler());
            checkNotTwice(stage, "steps", opts.steps(), request.steps());
            checkNotTwice(stage, "guidance", opts.guidance(), request.guidance());
            checkNotTwice(stage, "schedule", opts.schedule(), request.schedule());
        }
        Sampler sampler = opts.sampler().or(() -> first ? request.sampler() : Optional.empty())
                .orElse(stage.defaultSampler());
        int steps = opts.steps().or(() -> first ? request.steps() : Optional.empty()).orElse(stage.defaultSteps());
        Guidance guidance = opts.guidance().or(() -> first ? request.guidance() : Optional.empty())
                .orElse(stage.defaultGuidance());
        Optional<NoiseSchedule> requested = opts.schedule().or(() -> first ? request.schedule() : Optional.empty());
        NoiseSchedule schedule = requested.orElse(stage.schedule());
        double[] sigmas;
        try {
            sigmas = Schedules.validate(schedule.sigmas(steps, sampler).clone());
            if (sigmas.length != steps + 1) {
                throw new IllegalArgumentException("schedule returned " + sigmas.length + " sigmas for " + steps
                        + " steps; expected " + (steps + 1));
            }
        } catch (IllegalArgumentException e) {
            if (requested.isPresent()) {
                throw e; // the caller's schedule: the caller's argument
            }
            // the model's own schedule: a fault of the model, not of the request
            throw new EDiffException("stage '" + stage.name() + "': the model's noise schedule gives no usable sigma list for "
                    + steps + " steps: " + e.getMessage(), e);
        }
        Double augmentation = !first && stage.isSuperResolution()
                ? opts.augmentationSigma().orElse(stage.augmentationSigma().orElseThrow()) : null;
        double noiseScale = schedule.initialNoiseScale(sigmas.clone(), sampler);
        if (!(noiseScale > 0) || !Double.isFinite(noiseScale)) {
            throw new IllegalArgumentException("schedule returned initial noise scale " + noiseScale + "; expected a finite value > 0");
        }
        return new StageRecord(stage.name(), sampler, steps, guidance, sigmas, augmentation, noiseScale);
    }

    /** The request's own settings are the first stage's: giving one in both places is ambiguous. */
    private static void checkNotTwice(Stage stage, String setting, Optional<?> inOptions, Optional<?> inRequest) {
        if (inOptions.isPresent() && inRequest.isPresent()) {
            throw new IllegalArgumentException("the " + setting + " of the first stage '" + stage.name() + "' is set twice:"
                    + " on the request and in its stage options; set it in one place");
        }
    }

    private static int index(List<Stage> all, String name) {
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown stage '" + name + "'; this model's stages are "
                + all.stream().map(Stage::name).toList());
    }

    /** The seed of every image: {@code firstSeed + i}. */
    long[] seeds() {
        long[] seeds = new long[request.count()];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = firstSeed + i;
        }
        return seeds;
    }
}
