package dev.ediff.core;

import dev.ediff.api.Guidance;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * What a generation actually ran, per stage, written as the text parameters that go into PNGs.
 */
final class GenerationRecord {

    /**
     * The settings one stage ran with.
     *
     * @param stage             the stage name
     * @param sampler           the sampler
     * @param steps             the number of steps
     * @param guidance          the text guidance
     * @param sigmas            the sigma list walked
     * @param augmentationSigma the noise level of the low-resolution input (super-resolution stages), else null
     */
    record StageRecord(String stage, Sampler sampler, int steps, Guidance guidance, double[] sigmas,
                       Double augmentationSigma) {

        OptionalDouble augmentation() {
            return augmentationSigma == null ? OptionalDouble.empty() : OptionalDouble.of(augmentationSigma);
        }
    }

    private GenerationRecord() {
    }

    /** The parameters of a generation of {@code request} with the first seed {@code firstSeed}. */
    static Map<String, String> parameters(String model, Request r, long firstSeed, boolean hasTextEncoders,
                                          List<StageRecord> ran) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("prompt", r.prompt());
        if (!r.negativePrompt().isEmpty()) {
            p.put("negative_prompt", r.negativePrompt());
        }
        p.put("seed", Long.toString(firstSeed));
        p.put("count", Integer.toString(r.count()));
        StageRecord base = ran.get(0);
        p.put("sampler", base.sampler().name());
        p.put("steps", Integer.toString(base.steps()));
        p.put("guidance", Double.toString(base.guidance().scale()));
        if (hasTextEncoders) {
            p.put("t5", Boolean.toString(r.t5()));
            p.put("clip", Boolean.toString(r.clip()));
        }
        if (r.hasStyle()) {
            p.put("style_strength", Double.toString(r.styleStrength()));
            r.styleFile().ifPresent(f -> p.put("style_image", f.getFileName().toString()));
        }
        p.put("stages", String.join(",", ran.stream().map(StageRecord::stage).toList()));
        p.put("model", model);
        p.put("software", "ediff-java");
        return p;
    }
}
