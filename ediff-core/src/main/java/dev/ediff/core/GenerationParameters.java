package dev.ediff.core;

import dev.ediff.api.Guidance;
import dev.ediff.api.Mask;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.Paint;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.StageOptions;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The text form of a generation's parameters ({@link dev.ediff.api.Generation#parameters()}, the
 * PNG text chunks), written from what actually ran and read back into a {@link Request} that
 * regenerates the same images, bit for bit, on the same model.
 *
 * <p>Keys: {@code prompt}, {@code negative_prompt}, {@code seed} (of image 0), {@code count},
 * {@code t5}, {@code clip}, {@code layout} and {@code layout_phrases} (a model with a prompt layout
 * only: whether the request allowed it, and the phrases encoded, joined by {@code " | "}, when it
 * applied), {@code style_strength}, {@code style_image}, {@code paint.N.phrase},
 * {@code paint.N.mask}, {@code paint.N.weight}, {@code stages}, {@code model}, {@code software};
 * per stage {@code STAGE.sampler} (with its options, e.g. {@code heun(s_churn=0.0,...)}),
 * {@code STAGE.steps}, {@code STAGE.guidance}, {@code STAGE.guidance_rescale},
 * {@code STAGE.guidance_interval}, {@code STAGE.sigmas} (the schedule as walked),
 * {@code STAGE.noise_scale} when the schedule started from another multiple of the unit noise than
 * the first sigma (a diffusers scheduler's start) and, for a super-resolution stage,
 * {@code STAGE.augmentation_sigma}. {@code sampler}, {@code steps} and
 * {@code guidance} repeat the first stage's for image viewers. Numbers are written so that they
 * read back exactly.
 *
 * <pre>{@code
 * Request again = GenerationParameters.parse(PngFiles.readText(png)).build();
 * }</pre>
 */
public final class GenerationParameters {

    /** Marks a request whose noise or conditioning came from the caller: not reproducible from text. */
    static final String NOT_REPRODUCIBLE = "not_reproducible";

    private GenerationParameters() {
    }

    /** The parameters of what {@code ran} on the model called {@code model}. */
    static Map<String, String> write(String model, GenerationRecord ran, boolean hasTextEncoders) {
        return write(model, ran, hasTextEncoders, false, List.of());
    }

    /** As {@link #write(String, GenerationRecord, boolean)} for a model with or without a prompt layout. */
    static Map<String, String> write(String model, GenerationRecord ran, boolean hasTextEncoders, boolean hasLayout,
                                     List<String> layoutPhrases) {
        Request r = ran.request();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("prompt", r.prompt());
        if (r.negativePromptGiven()) { // an explicit "" too: SDXL encodes it, but zeroes a missing one
            p.put("negative_prompt", r.negativePrompt());
        }
        p.put("seed", Long.toString(ran.firstSeed()));
        p.put("count", Integer.toString(r.count()));
        GenerationRecord.StageRecord first = ran.stages().get(0);
        p.put("sampler", first.sampler().name());
        p.put("steps", Integer.toString(first.steps()));
        p.put("guidance", Double.toString(first.guidance().scale()));
        if (hasTextEncoders) {
            p.put("t5", Boolean.toString(r.t5()));
            p.put("clip", Boolean.toString(r.clip()));
        }
        if (hasLayout) {
            p.put("layout", Boolean.toString(r.layout()));
            if (!layoutPhrases.isEmpty()) {
                p.put("layout_phrases", String.join(" | ", layoutPhrases));
            }
        }
        if (r.hasStyle()) {
            p.put("style_strength", Double.toString(r.styleStrength()));
            r.styleFile().ifPresent(f -> p.put("style_image", f.getFileName().toString()));
        }
        for (int i = 0; i < r.paints().size(); i++) {
            Paint paint = r.paints().get(i);
            p.put("paint." + i + ".phrase", paint.phrase());
            p.put("paint." + i + ".mask", paint.mask().spec());
            p.put("paint." + i + ".weight", Double.toString(paint.weight()));
        }
        StringJoiner custom = new StringJoiner(",");
        r.initialNoise().ifPresent(n -> custom.add("initial_noise"));
        r.noiseSource().ifPresent(n -> custom.add("noise_source"));
        r.conditioning().ifPresent(c -> custom.add("conditioning"));
        if (custom.length() > 0) {
            p.put(NOT_REPRODUCIBLE, custom.toString());
        }
        for (GenerationRecord.StageRecord s : ran.stages()) {
            String k = s.stage() + ".";
            p.put(k + "sampler", Samplers.spec(s.sampler()));
            p.put(k + "steps", Integer.toString(s.steps()));
            p.put(k + "guidance", Double.toString(s.guidance().scale()));
            p.put(k + "guidance_rescale", Double.toString(s.guidance().rescale()));
            p.put(k + "guidance_interval", s.guidance().interval().toString());
            StringJoiner sigmas = new StringJoiner(",");
            Arrays.stream(s.sigmas()).forEach(v -> sigmas.add(Double.toString(v)));
            p.put(k + "sigmas", sigmas.toString());
            if (s.noiseScale() != s.sigmas()[0]) {
                p.put(k + "noise_scale", Double.toString(s.noiseScale()));
            }
            s.augmentation().ifPresent(a -> p.put(k + "augmentation_sigma", Double.toString(a)));
        }
        p.put("stages", String.join(",", ran.stages().stream().map(GenerationRecord.StageRecord::stage).toList()));
        p.put("model", model);
        p.put("software", "ediff-java");
        return p;
    }

    /**
     * A request that regenerates the images these parameters describe: prompt, seed, count, encoder
     * toggles, the layout toggle, painted words, style strength and, per stage, the sampler with its options, steps,
     * guidance (scale, rescale, interval), the sigmas walked and the augmentation sigma. A style
     * image is referred to by file name only ({@code style_image}, resolved against the working
     * directory); give it again with {@code .style(...)} when it lives elsewhere.
     *
     * @param parameters the parameters, e.g. a PNG's text chunks
     * @return a builder holding the request, to change or build
     * @throws IllegalArgumentException naming the key when one is missing or malformed, when a
     *                                  sampler is unknown, or when the generation used caller-supplied
     *                                  noise or conditioning, which text cannot carry
     */
    public static Request.Builder parse(Map<String, String> parameters) {
        Reader in = new Reader(parameters);
        if (parameters.containsKey(NOT_REPRODUCIBLE)) {
            throw new IllegalArgumentException("these parameters come from a request with caller-supplied "
                    + parameters.get(NOT_REPRODUCIBLE) + ", which the text does not hold; it cannot be regenerated from it");
        }
        Request.Builder b = Request.prompt(in.text("prompt")).seed(in.longValue("seed")).count(in.integer("count"));
        if (parameters.containsKey("negative_prompt")) {
            b.negativePrompt(in.text("negative_prompt"));
        }
        if (parameters.containsKey("t5")) {
            b.t5(in.bool("t5"));
        }
        if (parameters.containsKey("clip")) {
            b.clip(in.bool("clip"));
        }
        if (parameters.containsKey("layout")) {
            b.layout(in.bool("layout"));
        }
        if (parameters.containsKey("style_strength")) {
            if (!parameters.containsKey("style_image")) {
                throw new IllegalArgumentException("these parameters come from a generation whose style image was given"
                        + " in memory, not as a file, so they cannot name it (no 'style_image')");
            }
            b.style(Path.of(in.text("style_image")), in.number("style_strength"));
        }
        for (int i = 0; parameters.containsKey("paint." + i + ".phrase"); i++) {
            String k = "paint." + i + ".";
            b.paint(in.text(k + "phrase"), in.parsed(k + "mask", Mask::parse), in.number(k + "weight"));
        }
        List<String> stages = List.of(in.text("stages").split(","));
        for (String stage : stages) {
            String k = stage + ".";
            double[] sigmas = in.parsed(k + "sigmas", v -> Arrays.stream(v.split(",")).mapToDouble(Double::parseDouble)
                    .toArray());
            Guidance g = new Guidance(in.number(k + "guidance"), in.number(k + "guidance_rescale"),
                    in.parsed(k + "guidance_interval", NoiseInterval::parse));
            StageOptions o = StageOptions.defaults().sampler(in.parsed(k + "sampler", Samplers::parse), in.integer(k + "steps"))
                    .guidance(g).schedule(in.parsed(k + "sigmas", v -> Schedules.explicit(sigmas)));
            if (parameters.containsKey(k + "noise_scale")) {
                o = o.schedule(startingAt(Schedules.explicit(sigmas), in.number(k + "noise_scale")));
            }
            if (parameters.containsKey(k + "augmentation_sigma")) {
                o = o.augmentationSigma(in.number(k + "augmentation_sigma"));
            }
            b.stage(stage, o);
        }
        return b.untilStage(stages.get(stages.size() - 1));
    }

    /** {@code walked} started from {@code scale} times unit noise, as the generation it comes from started. */
    private static NoiseSchedule startingAt(NoiseSchedule walked, double scale) {
        return new NoiseSchedule() {
            @Override
            public double[] sigmas(int steps) {
                return walked.sigmas(steps);
            }

            @Override
            public double initialNoiseScale(double[] sigmas, Sampler sampler) {
                return scale;
            }
        };
    }

    /** Reads typed values, naming the key in every error. */
    private record Reader(Map<String, String> p) {

        String text(String key) {
            String v = p.get(key);
            if (v == null) {
                throw new IllegalArgumentException("generation parameters have no '" + key + "'");
            }
            return v;
        }

        <T> T parsed(String key, java.util.function.Function<String, T> parser) {
            String v = text(key);
            try {
                return parser.apply(v);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("generation parameter '" + key + "' = '"
                        + (v.length() > 60 ? v.substring(0, 60) + "..." : v) + "' is invalid: " + e.getMessage(), e);
            }
        }

        double number(String key) {
            return parsed(key, Double::parseDouble);
        }

        int integer(String key) {
            return parsed(key, Integer::parseInt);
        }

        long longValue(String key) {
            return parsed(key, Long::parseLong);
        }

        boolean bool(String key) {
            return parsed(key, v -> switch (v) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException("expected true or false");
            });
        }
    }
}
