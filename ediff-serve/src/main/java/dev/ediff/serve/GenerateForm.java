package dev.ediff.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ediff.api.Guidance;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.api.TextEncoder;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;
import dev.ediff.core.sampling.Samplers;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A generation request as the page sends it (JSON), checked field by field into a
 * {@link Request.Builder}. Each check is the SDK's own (the builder's setters, {@link Samplers#byName},
 * {@link Guidance#of}, {@link TextEncoder#locate}, {@link Images#checkSize}) so the browser gets the
 * message the API would give, with the name of the field it is about.
 *
 * @param builder the request, without progress listener and cancellation (the server adds them)
 * @param paints  what each painted phrase covers, for the job's record and the PNG parameters
 */
record GenerateForm(Request.Builder builder, List<PaintedRegion> paints) {

    private static final Set<String> FIELDS = Set.of("prompt", "negativePrompt", "seed", "count", "steps", "sampler",
            "guidance", "t5", "clip", "layout", "style", "paints");
    /** The longest prompt or negative prompt accepted, in characters (encoders see a few dozen tokens). */
    static final int MAX_PROMPT_CHARS = 4000;
    /** The grid on which a mask's box and coverage are measured (relative coordinates come out of it). */
    static final int MEASURE = 64;

    /**
     * Where a painted phrase went: the box of the mask cells at least half covered, in relative
     * coordinates {@code [x0, y0, x1, y1]}, and the mean coverage.
     */
    record PaintedRegion(String phrase, double weight, double[] box, double coverage) {
    }

    static GenerateForm parse(JsonNode body, EDiff ediff, Limits limits) {
        if (body == null || !body.isObject()) {
            throw new FieldException("", "the request body must be a JSON object");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!FIELDS.contains(name)) {
                throw new FieldException(name, "unknown field '" + name + "'; known fields: " + String.join(", ",
                        FIELDS.stream().sorted().toList()));
            }
        }
        String prompt = promptText(body, "prompt");
        Request.Builder r = Request.prompt(prompt);
        String negative = promptText(body, "negativePrompt");
        if (!negative.isEmpty()) { // an empty form field is no negative prompt (SDXL then zeroes the branch)
            r.negativePrompt(negative);
        }
        boolean t5 = bool(body, "t5", true);
        boolean clip = bool(body, "clip", true);
        r.t5(t5).clip(clip).layout(bool(body, "layout", true));
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.canConvertToLong() || !seed.isIntegralNumber()) {
                throw new FieldException("seed", "seed must be a whole number (or null for a random one), got " + seed);
            }
            r.seed(seed.asLong());
        }
        int count = integer(body, "count", 1);
        if (count > limits.maxCount()) {
            throw new FieldException("count", "count must be <= " + limits.maxCount() + " on this server, got " + count);
        }
        apply("count", () -> r.count(count));
        if (body.hasNonNull("steps")) {
            int steps = integer(body, "steps", 0);
            if (steps > limits.maxSteps()) {
                throw new FieldException("steps", "steps must be <= " + limits.maxSteps() + " on this server, got " + steps);
            }
            apply("steps", () -> r.steps(steps));
        }
        if (body.hasNonNull("sampler")) {
            String name = text(body, "sampler", "");
            apply("sampler", () -> r.sampler(Samplers.byName(name)));
        }
        if (body.hasNonNull("guidance")) {
            double g = number(body.get("guidance"), "guidance");
            apply("guidance", () -> r.guidance(Guidance.of(g)));
        }
        JsonNode style = body.get("style");
        if (style != null && !style.isNull()) {
            if (!style.isObject()) {
                throw new FieldException("style", "style must be an object {\"image\": PNG/JPEG data URL, \"strength\": number}");
            }
            double strength = style.hasNonNull("strength") ? number(style.get("strength"), "style.strength")
                    : Request.DEFAULT_STYLE_STRENGTH;
            BufferedImage img = image(style.get("image"), "style.image", limits, EDiff.MIN_STYLE_SIDE);
            apply("style.strength", () -> r.style(img, strength));
        }
        List<PaintedRegion> regions = new ArrayList<>();
        JsonNode paints = body.get("paints");
        if (paints != null && !paints.isNull()) {
            if (!paints.isArray()) {
                throw new FieldException("paints", "paints must be an array of {\"phrase\", \"weight\", \"mask\"}");
            }
            if (paints.size() > limits.maxPhrases()) {
                throw new FieldException("paints", "at most " + limits.maxPhrases() + " painted phrases on this server, got "
                        + paints.size());
            }
            for (int i = 0; i < paints.size(); i++) {
                regions.add(paint(paints.get(i), "paints[" + i + "]", prompt, t5, clip, ediff, limits, r));
            }
        }
        return new GenerateForm(r, List.copyOf(regions));
    }

    private static PaintedRegion paint(JsonNode p, String field, String prompt, boolean t5, boolean clip, EDiff ediff,
                                       Limits limits, Request.Builder r) {
        if (p == null || !p.isObject()) {
            throw new FieldException(field, field + " must be an object {\"phrase\", \"weight\", \"mask\"}");
        }
        String phrase = text(p, "phrase", null);
        if (phrase == null || phrase.isBlank()) {
            throw new FieldException(field + ".phrase", field + ".phrase must be words of the prompt, got nothing");
        }
        double weight = p.hasNonNull("weight") ? number(p.get("weight"), field + ".weight") : 0.4;
        for (TextEncoder e : ediff.textEncoders().values()) {
            boolean on = switch (e.role()) {
                case TextEncoder.T5 -> t5;
                case TextEncoder.CLIP -> clip;
                default -> true;
            };
            if (on) {
                try {
                    e.locate(prompt, phrase);
                } catch (IllegalArgumentException ex) {
                    throw new FieldException(field + ".phrase", ex.getMessage());
                } catch (UnsupportedOperationException ex) {
                    throw new FieldException(field + ".phrase", "this model cannot paint with words: " + ex.getMessage());
                }
            }
        }
        BufferedImage img = image(p.get("mask"), field + ".mask", limits, 1);
        Mask mask = Mask.image(img);
        float[] cells = mask.rasterize(MEASURE, MEASURE);
        int x0 = MEASURE;
        int y0 = MEASURE;
        int x1 = -1;
        int y1 = -1;
        double sum = 0;
        for (int y = 0; y < MEASURE; y++) {
            for (int x = 0; x < MEASURE; x++) {
                float v = cells[y * MEASURE + x];
                sum += v;
                if (v >= 0.5f) {
                    x0 = Math.min(x0, x);
                    y0 = Math.min(y0, y);
                    x1 = Math.max(x1, x);
                    y1 = Math.max(y1, y);
                }
            }
        }
        if (x1 < 0) {
            throw new FieldException(field + ".mask", "nothing is painted for '" + phrase
                    + "': paint where it should go, or remove the phrase");
        }
        apply(field + ".weight", () -> r.paint(phrase, mask, weight));
        double[] box = {(double) x0 / MEASURE, (double) y0 / MEASURE, (double) (x1 + 1) / MEASURE, (double) (y1 + 1) / MEASURE};
        return new PaintedRegion(phrase, weight, box, sum / cells.length);
    }

    /** Decodes a base64 image (a data URL or bare base64), checking its declared size before decoding. */
    static BufferedImage image(JsonNode node, String field, Limits limits, int minSide) {
        if (node == null || !node.isTextual()) {
            throw new FieldException(field, field + " must be an image as a data URL (data:image/png;base64,...)");
        }
        String s = node.asText();
        int comma = s.indexOf(',');
        if (s.startsWith("data:")) {
            if (comma < 0 || !s.substring(0, comma).endsWith(";base64")) {
                throw new FieldException(field, field + " must be a base64 data URL (data:image/png;base64,...)");
            }
            s = s.substring(comma + 1);
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new FieldException(field, field + " is not valid base64: " + e.getMessage());
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new FieldException(field, field + " is not an image in a readable format (PNG, JPEG, BMP, GIF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w * h > limits.maxImagePixels()) {
                    throw new FieldException(field, field + " is " + w + "x" + h + " pixels; this server takes at most "
                            + limits.maxImagePixels() + " pixels: downscale it first");
                }
                try {
                    Images.checkSize(field, w, h, minSide);
                } catch (RuntimeException e) {
                    throw new FieldException(field, e.getMessage());
                }
                BufferedImage img = reader.read(0);
                if (img == null) {
                    throw new FieldException(field, field + " could not be decoded");
                }
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new FieldException(field, field + " could not be decoded: " + e.getMessage());
        }
    }

    private static void apply(String field, Runnable setter) {
        try {
            setter.run();
        } catch (IllegalArgumentException e) {
            throw new FieldException(field, e.getMessage());
        }
    }

    static String promptText(JsonNode body, String field) {
        String t = text(body, field, "");
        if (t.length() > MAX_PROMPT_CHARS) {
            throw new FieldException(field, field + " is " + t.length() + " characters; at most " + MAX_PROMPT_CHARS
                    + " are taken (the text encoders see only its first few dozen tokens)");
        }
        return t;
    }

    private static String text(JsonNode body, String field, String fallback) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isTextual()) {
            throw new FieldException(field, field + " must be a string, got " + n);
        }
        return n.asText();
    }

    private static boolean bool(JsonNode body, String field, boolean fallback) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw new FieldException(field, field + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }

    private static int integer(JsonNode body, String field, int fallback) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new FieldException(field, field + " must be a whole number, got " + n);
        }
        return n.asInt();
    }

    private static double number(JsonNode n, String field) {
        if (n == null || !n.isNumber()) {
            throw new FieldException(field, field + " must be a number, got " + n);
        }
        double v = n.asDouble();
        if (!Double.isFinite(v)) {
            throw new FieldException(field, field + " must be finite, got " + v);
        }
        return v;
    }

    static String describe(PaintedRegion p) {
        double[] b = p.box();
        return String.format(Locale.ROOT, "%s @ %.2f in (%.3f,%.3f)-(%.3f,%.3f)", p.phrase(), p.weight(), b[0], b[1], b[2], b[3]);
    }
}
