package dev.ediff.core;

import dev.ediff.api.Request;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The text form of a generation's parameters, as written into PNG text chunks.
 */
public final class GenerationParameters {

    private GenerationParameters() {
    }

    /** The parameters of what {@code ran} on the model called {@code model}. */
    static Map<String, String> write(String model, GenerationRecord ran, boolean hasTextEncoders) {
        Request r = ran.request();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("prompt", r.prompt());
        if (!r.negativePrompt().isEmpty()) {
            p.put("negative_prompt", r.negativePrompt());
        }
        p.put("seed", Long.toString(ran.firstSeed()));
        p.put("count", Integer.toString(r.count()));
        GenerationRecord.StageRecord base = ran.stages().get(0);
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
        p.put("stages", String.join(",", ran.stages().stream().map(GenerationRecord.StageRecord::stage).toList()));
        p.put("model", model);
        p.put("software", "ediff-java");
        return p;
    }
}
