package dev.ediff.eval;

import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Paint;
import dev.ediff.api.Request;
import dev.ediff.api.StageOptions;
import dev.ediff.core.sampling.Samplers;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One row of the quality table: a label and the generation settings, from
 * {@code --config LABEL=key=value,key=value}. Keys: {@code sampler}, {@code steps}, {@code guidance}
 * (of the base stage), {@code t5}, {@code clip} (true/false), {@code layout} (true/false: lay two-object
 * prompts out when the model declares a prompt layout, default true), {@code until} (last stage to run),
 * {@code paint} (true/false: apply the prompt file's paint entries, default true), {@code style}
 * (true/false: apply its style references, default true), {@code style_strength} (default {@link Request#DEFAULT_STYLE_STRENGTH}),
 * {@code upsample} ({@code bicubic}: run the first stage only and judge its output upsampled to the
 * last stage's resolution, instead of the super-resolution output; {@code none} default),
 * {@code model} (a bundle folder for this row instead of {@code --model}), {@code paint_weight} (the
 * weight of every paint entry instead of the file's), and for the stages after the first (the
 * super-resolution stages) {@code sr_sampler}, {@code sr_steps}, {@code sr_guidance} and
 * {@code sr_augmentation_sigma} ({@code sr_sampler} only with {@code sr_steps}); with {@code guidance},
 * {@code guidance_rescale} (0..1) and {@code guidance_lo} / {@code guidance_hi} (the noise levels
 * {@code [lo, hi)} where the first stage's text guidance applies). Unset keys keep the bundle's defaults.
 *
 * @param label         the row label
 * @param sampler       sampler name or null
 * @param steps         steps or null
 * @param guidance      text guidance or null
 * @param t5            use the T5 encoder
 * @param clip          use the CLIP text encoder
 * @param until         last stage or null
 * @param paint         apply paint entries
 * @param style         apply style references
 * @param styleStrength style guidance strength
 * @param bicubic       judge the first stage upsampled (bicubic) instead of the later stages
 * @param model         bundle folder of this row, or null for the command's model
 * @param layout        lay two-object prompts out (when the model declares a prompt layout)
 * @param paintWeight   the weight of every paint entry, or null for each entry's own
 * @param later         settings of the stages after the first
 * @param guidanceFull  the first stage's guidance with its rescale and interval (from {@code guidance_rescale},
 *                      {@code guidance_lo}, {@code guidance_hi}), or null for a plain {@code guidance}
 */
public record EvalConfig(String label, String sampler, Integer steps, Double guidance, boolean t5, boolean clip,
                         String until, boolean paint, boolean style, double styleStrength, boolean bicubic, Path model,
                         boolean layout, Double paintWeight, LaterStages later, Guidance guidanceFull) {

    /**
     * Settings of the stages after the first (super-resolution), each null for the stage's default.
     *
     * @param sampler           sampler name or null
     * @param steps             steps or null
     * @param guidance          text guidance or null
     * @param augmentationSigma noise level of the upsampled low-resolution input, or null
     */
    public record LaterStages(String sampler, Integer steps, Double guidance, Double augmentationSigma) {

        /** No overrides. */
        public static final LaterStages NONE = new LaterStages(null, null, null, null);

        /** {@return whether any setting is given} */
        public boolean any() {
            return sampler != null || steps != null || guidance != null || augmentationSigma != null;
        }
    }

    /**
     * Checks that {@code later} is given (use {@link LaterStages#NONE} for none).
     *
     * @throws NullPointerException when {@code later} is null
     */
    public EvalConfig {
        java.util.Objects.requireNonNull(later, "later (use LaterStages.NONE)");
    }

    /**
     * A configuration without a paint weight or later-stage settings (as before those keys existed).
     *
     * @param label         the row label
     * @param sampler       sampler name or null
     * @param steps         steps or null
     * @param guidance      text guidance or null
     * @param t5            use the T5 encoder
     * @param clip          use the CLIP text encoder
     * @param until         last stage or null
     * @param paint         apply paint entries
     * @param style         apply style references
     * @param styleStrength style guidance strength
     * @param bicubic       judge the first stage upsampled (bicubic) instead of the later stages
     * @param model         bundle folder of this row, or null for the command's model
     * @param layout        lay two-object prompts out (when the model declares a prompt layout)
     */
    public EvalConfig(String label, String sampler, Integer steps, Double guidance, boolean t5, boolean clip,
                      String until, boolean paint, boolean style, double styleStrength, boolean bicubic, Path model,
                      boolean layout) {
        this(label, sampler, steps, guidance, t5, clip, until, paint, style, styleStrength, bicubic, model, layout, null,
                LaterStages.NONE, null);
    }

    /**
     * A configuration that lays prompts out when the model declares a layout (as before the
     * {@code layout} key existed).
     *
     * @param label         the row label
     * @param sampler       sampler name or null
     * @param steps         steps or null
     * @param guidance      text guidance or null
     * @param t5            use the T5 encoder
     * @param clip          use the CLIP text encoder
     * @param until         last stage or null
     * @param paint         apply paint entries
     * @param style         apply style references
     * @param styleStrength style guidance strength
     * @param bicubic       judge the first stage upsampled (bicubic) instead of the later stages
     * @param model         bundle folder of this row, or null for the command's model
     */
    public EvalConfig(String label, String sampler, Integer steps, Double guidance, boolean t5, boolean clip,
                      String until, boolean paint, boolean style, double styleStrength, boolean bicubic, Path model) {
        this(label, sampler, steps, guidance, t5, clip, until, paint, style, styleStrength, bicubic, model, true);
    }

    /** The row of a run without {@code --config}: the bundle's defaults. */
    public static EvalConfig defaults() {
        return new EvalConfig("default", null, null, null, true, true, null, true, true, Request.DEFAULT_STYLE_STRENGTH,
                false, null, true, null,
                LaterStages.NONE, null);
    }

    /** This configuration under another label. */
    public EvalConfig withLabel(String newLabel) {
        return new EvalConfig(newLabel, sampler, steps, guidance, t5, clip, until, paint, style, styleStrength, bicubic,
                model, layout, paintWeight, later, guidanceFull);
    }

    /** Parses {@code LABEL} or {@code LABEL=key=value,key=value}. */
    public static EvalConfig parse(String text) {
        int eq = text.indexOf('=');
        String label = (eq < 0 ? text : text.substring(0, eq)).strip();
        if (label.isEmpty() || label.contains("|")) {
            throw usage(text, "the label (before the first '=') must be non-empty and without '|'");
        }
        Map<String, String> kv = new LinkedHashMap<>();
        if (eq >= 0 && !text.substring(eq + 1).isBlank()) {
            for (String part : text.substring(eq + 1).split(",")) {
                int e = part.indexOf('=');
                if (e <= 0) {
                    throw usage(text, "expected key=value, got '" + part + "'");
                }
                String key = part.substring(0, e).strip();
                if (kv.put(key, part.substring(e + 1).strip()) != null) {
                    throw usage(text, "key '" + key + "' given twice");
                }
            }
        }
        EvalConfig d = defaults();
        String sampler = null;
        Integer steps = null;
        Double guidance = null;
        boolean t5 = d.t5;
        boolean clip = d.clip;
        boolean layout = d.layout;
        String until = null;
        boolean paint = d.paint;
        boolean style = d.style;
        double strength = d.styleStrength;
        boolean bicubic = false;
        Path model = null;
        Double paintWeight = null;
        String srSampler = null;
        Integer srSteps = null;
        Double srGuidance = null;
        Double srAugmentation = null;
        Double rescale = null;
        Double lo = null;
        Double hi = null;
        for (Map.Entry<String, String> e : kv.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "sampler" -> sampler = samplerName(text, v);
                case "steps" -> steps = (int) number(text, "steps", v, 1, Request.MAX_STEPS, true);
                case "guidance" -> guidance = number(text, "guidance", v, 0, Guidance.MAX_SCALE, false);
                case "t5" -> t5 = bool(text, "t5", v);
                case "clip" -> clip = bool(text, "clip", v);
                case "layout" -> layout = bool(text, "layout", v);
                case "until" -> until = nonEmpty(text, "until", v);
                case "paint" -> paint = bool(text, "paint", v);
                case "style" -> style = bool(text, "style", v);
                case "style_strength" -> strength = number(text, "style_strength", v, 0, 10, false);
                case "upsample" -> {
                    if (!v.equals("bicubic") && !v.equals("none")) {
                        throw usage(text, "upsample is 'bicubic' or 'none', got '" + v + "'");
                    }
                    bicubic = v.equals("bicubic");
                }
                case "model" -> model = Path.of(nonEmpty(text, "model", v));
                case "paint_weight" -> paintWeight = number(text, "paint_weight", v, 0, Paint.MAX_WEIGHT, false);
                case "sr_sampler" -> srSampler = samplerName(text, v);
                case "sr_steps" -> srSteps = (int) number(text, "sr_steps", v, 1, Request.MAX_STEPS, true);
                case "sr_guidance" -> srGuidance = number(text, "sr_guidance", v, 0, Guidance.MAX_SCALE, false);
                case "sr_augmentation_sigma" -> srAugmentation = number(text, "sr_augmentation_sigma", v, 0,
                        StageOptions.MAX_AUGMENTATION_SIGMA, false);
                case "guidance_rescale" -> rescale = number(text, "guidance_rescale", v, 0, 1, false);
                case "guidance_lo" -> lo = number(text, "guidance_lo", v, 0, Double.MAX_VALUE, false);
                case "guidance_hi" -> hi = v.equals("inf") ? Double.POSITIVE_INFINITY
                        : number(text, "guidance_hi", v, Double.MIN_VALUE, Double.MAX_VALUE, false);
                default -> throw usage(text, "unknown key '" + e.getKey() + "'; keys: sampler, steps, guidance, t5, clip,"
                        + " layout, until, paint, style, style_strength, upsample, model, paint_weight, sr_sampler,"
                        + " sr_steps, sr_guidance, sr_augmentation_sigma, guidance_rescale, guidance_lo, guidance_hi");
            }
        }
        if (bicubic && until != null) {
            throw usage(text, "upsample=bicubic runs the first stage only; do not combine it with until");
        }
        if (srSampler != null && srSteps == null) {
            throw usage(text, "sr_sampler needs sr_steps (a sampler's steps are not another sampler's)");
        }
        LaterStages later = new LaterStages(srSampler, srSteps, srGuidance, srAugmentation);
        Guidance full = null;
        if (rescale != null || lo != null || hi != null) {
            if (guidance == null) {
                throw usage(text, "guidance_rescale, guidance_lo and guidance_hi need guidance (the scale they shape)");
            }
            double l = lo == null ? 0 : lo;
            double h = hi == null ? Double.POSITIVE_INFINITY : hi;
            if (!(h > l)) {
                throw usage(text, "guidance_hi must be above guidance_lo, got [" + l + ", " + h + ")");
            }
            full = Guidance.of(guidance).withRescale(rescale == null ? 0 : rescale).limitedTo(NoiseInterval.of(l, h));
        }
        if (later.any() && bicubic) {
            throw usage(text, "upsample=bicubic runs the first stage only; the sr_ keys have no stage to apply to");
        }
        return new EvalConfig(label, sampler, steps, guidance, t5, clip, until, paint, style, strength, bicubic, model,
                layout, paintWeight, later, full);
    }

    private static String samplerName(String text, String v) {
        try {
            Samplers.byName(v);
        } catch (IllegalArgumentException ex) {
            throw usage(text, ex.getMessage());
        }
        return v;
    }

    private static EvalException usage(String text, String why) {
        return new EvalException(EvalException.USAGE, "--config '" + text + "': " + why);
    }

    private static String nonEmpty(String text, String key, String v) {
        if (v.isEmpty()) {
            throw usage(text, key + " needs a value");
        }
        return v;
    }

    private static boolean bool(String text, String key, String v) {
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw usage(text, key + " is true or false, got '" + v + "'");
        };
    }

    private static double number(String text, String key, String v, double min, double max, boolean integer) {
        try {
            double d = integer ? Integer.parseInt(v) : Double.parseDouble(v);
            if (!(d >= min && d <= max)) {
                throw usage(text, key + " must be in [" + bound(min, integer) + ", " + bound(max, integer) + "], got " + v);
            }
            return d;
        } catch (NumberFormatException e) {
            throw usage(text, key + " must be " + (integer ? "an integer" : "a number") + ", got '" + v + "'");
        }
    }

    private static String bound(double b, boolean integer) {
        return integer ? Long.toString((long) b) : Double.toString(b);
    }
}
