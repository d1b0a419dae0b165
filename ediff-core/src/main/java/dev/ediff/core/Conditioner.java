package dev.ediff.core;

import dev.ediff.core.cache.BoundedCache;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.api.Truncation;
import dev.ediff.core.image.Images;
import dev.ediff.core.text.PromptLayout;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a request's prompts, encoder toggles and style reference into the guidance branches of
 * one generation (batch 1, before any stage filters them): the text encodings per encoder, with
 * encoders switched off replaced by what the model saw in training when they were dropped, and
 * the style image's embedding. Prompt encodings and style embeddings are cached (bounded).
 *
 * <p>With a {@link PromptLayout} that splits the prompt into phrases (two objects, each with its
 * cell), every text encoder that is on encodes each phrase alone into its share of the token
 * positions ({@code tokenLength / phrases} each, in order; positions left over are zero and masked
 * out), and takes any other role (CLIP's pooled embedding) from the encoding of the phrases joined
 * by {@code ", "}. The negative prompt is encoded whole; requests that paint words or bring their own
 * conditioning are never laid out.
 */
final class Conditioner {

    /**
     * The branches of one request, from least to most conditioned: {@code [uncond, cond]} with text
     * guidance, {@code [cond]} without, and the styled branch last when a style is given.
     */
    record Branches(List<Conditioning> conditionings, boolean textGuided, boolean styled,
                    List<Truncation> truncations, List<String> layoutPhrases) {
    }

    private final Map<String, TextEncoder> textEncoders;
    private final PromptLayout layout;
    private final ImageEncoder imageEncoder;
    private final BoundedCache<String, TextEncoding> textCache;
    private final BoundedCache<String, LaidOut> layoutCache;
    private final BoundedCache<String, Tensor> styleCache;
    private final int cacheSize;

    Conditioner(Map<String, TextEncoder> textEncoders, ImageEncoder imageEncoder, int cacheSize, PromptLayout layout) {
        this.layout = layout;
        this.cacheSize = cacheSize;
        // the declared order, so that truncations are reported in the same order on every run
        // (Map.copyOf iterates in an order that changes from one JVM to the next)
        this.textEncoders = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(textEncoders));
        this.imageEncoder = imageEncoder;
        this.textCache = new BoundedCache<>(cacheSize); // at least 1 (EDiffBuilder.cacheSize)
        this.layoutCache = new BoundedCache<>(Math.max(1, cacheSize / 4));
        this.styleCache = new BoundedCache<>(Math.max(1, cacheSize / 8));
    }

    Map<String, TextEncoder> textEncoders() {
        return textEncoders;
    }

    ImageEncoder imageEncoder() {
        return imageEncoder;
    }

    /** The model's prompt layout, or null. */
    PromptLayout layout() {
        return layout;
    }

    int cacheSize() {
        return cacheSize;
    }

    long textCacheHits() {
        return textCache.hits();
    }

    /** Whether {@code request} switches {@code encoder} on: the one place the T5/CLIP toggles are read. */
    static boolean isOn(TextEncoder encoder, Request request) {
        return switch (encoder.role()) {
            case TextEncoder.T5 -> request.t5();
            case TextEncoder.CLIP -> request.clip();
            default -> true;
        };
    }

    Branches branches(Request request) {
        List<Truncation> truncations = new ArrayList<>();
        List<String> phrases = layoutPhrases(request);
        Conditioning cond;
        Conditioning uncond;
        if (request.conditioning().isPresent()) {
            cond = request.conditioning().get();
            uncond = request.unconditioning().orElse(Conditioning.NONE);
        } else {
            cond = Conditioning.NONE;
            uncond = Conditioning.NONE;
            for (TextEncoder e : textEncoders.values()) {
                boolean on = isOn(e, request);
                TextEncoding off = e.off();
                TextEncoding c = !on ? off : phrases.isEmpty() ? encode(e, request.prompt())
                        : laidOut(e, phrases, truncations);
                TextEncoding u = on ? encodeNegative(e, request.negativePrompt(), request.negativePromptGiven()) : off;
                if (on && c.truncated()) {
                    truncations.add(new Truncation(e.role(), "prompt", c.droppedText()));
                }
                if (u != off && u.truncated()) {
                    truncations.add(new Truncation(e.role(), "negative prompt", u.droppedText()));
                }
                cond = cond.merge(c.conditioning());
                uncond = uncond.merge(u.conditioning());
            }
        }
        boolean textGuided = !cond.equals(uncond);
        if (!request.hasStyle()) {
            if (imageEncoder != null) {
                Conditioning off = Conditioning.of(Conditioning.IMAGE_EMBEDDING, imageEncoder.off());
                cond = cond.merge(off);
                uncond = uncond.merge(off);
            }
            return new Branches(textGuided ? List.of(uncond, cond) : List.of(cond), textGuided, false, truncations,
                    phrases);
        }
        if (imageEncoder == null) {
            throw new IllegalArgumentException("this model has no image encoder, so it cannot take a style image");
        }
        Conditioning off = Conditioning.of(Conditioning.IMAGE_EMBEDDING, imageEncoder.off());
        Conditioning styled = cond.merge(Conditioning.of(Conditioning.IMAGE_EMBEDDING, styleEmbedding(request)));
        List<Conditioning> list = textGuided
                ? List.of(uncond.merge(off), cond.merge(off), styled)
                : List.of(cond.merge(off), styled);
        return new Branches(list, textGuided, true, truncations, phrases);
    }

    /**
     * The phrases the layout splits the request's prompt into, or empty when the prompt is encoded
     * whole: no layout, switched off by the request, painted words, explicit conditioning, every
     * encoder off, or a prompt the layout leaves whole.
     */
    private List<String> layoutPhrases(Request request) {
        if (layout == null || !request.layout() || !request.paints().isEmpty() || request.conditioning().isPresent()
                || textEncoders.values().stream().noneMatch(e -> isOn(e, request))) {
            return List.of();
        }
        List<String> phrases = layout.phrases(request.prompt());
        return phrases.size() >= 2 ? phrases : List.of();
    }

    /** A laid-out prompt's encoding for one encoder, with the truncations its phrases reported. */
    private record LaidOut(TextEncoding encoding, List<Truncation> truncations) {
    }

    /**
     * {@link #encodeLaidOut}, cached: the assembled blocks are kept, so that a repeated prompt costs
     * no new tensors (as a prompt encoded whole does not), and its truncations are reported again.
     */
    private TextEncoding laidOut(TextEncoder e, List<String> phrases, List<Truncation> truncations) {
        LaidOut l = layoutCache.get(e.role() + "\u0000" + String.join("\u0000", phrases), () -> {
            List<Truncation> found = new ArrayList<>();
            return new LaidOut(encodeLaidOut(e, phrases, found), List.copyOf(found));
        });
        truncations.addAll(l.truncations());
        return l.encoding();
    }

    /**
     * Each phrase encoded alone into its block of {@code tokenLength / phrases.size()} token
     * positions; the roles the phrases do not give (a pooled embedding) from the phrases joined by
     * {@code ", "}. Truncations of the phrases (and of the joined text, when it gives a role) are
     * added to {@code truncations}; the result reports none itself.
     */
    private TextEncoding encodeLaidOut(TextEncoder e, List<String> phrases, List<Truncation> truncations) {
        int total = e.tokenLength();
        int per = total / phrases.size();
        List<TextEncoding> parts = new ArrayList<>();
        int tokens = 0;
        for (String phrase : phrases) {
            TextEncoding p = textCache.get(e.role() + "\u0000phrase " + per + "\u0000" + phrase,
                    () -> e.encodePhrase(phrase, per));
            if (p.truncated()) {
                truncations.add(new Truncation(e.role(), "layout phrase \"" + phrase + "\"", p.droppedText()));
            }
            tokens += p.tokens();
            parts.add(p);
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String role : parts.get(0).conditioning().roles()) {
            long[] shape = parts.get(0).conditioning().get(role).orElseThrow().shape();
            if (shape.length < 2 || shape[0] != 1 || shape[1] != per) {
                throw new EDiffException("text encoder '" + e.role() + "' encoded a phrase into " + role + " of shape "
                        + java.util.Arrays.toString(shape) + "; expected [1, " + per + ", ...]");
            }
            int row = parts.get(0).conditioning().get(role).orElseThrow().size() / per;
            float[] data = new float[total * row];
            for (int k = 0; k < parts.size(); k++) {
                Tensor t = parts.get(k).conditioning().get(role).orElseThrow(() -> new EDiffException(
                        "text encoder '" + e.role() + "' gave phrases different roles"));
                if (t.size() != per * row) {
                    throw new EDiffException("text encoder '" + e.role() + "' encoded phrases into " + role
                            + " of different shapes");
                }
                t.copyTo(data, k * per * row);
            }
            shape[1] = total;
            out.put(role, Tensor.of(data, shape));
        }
        if (!out.keySet().containsAll(e.off().conditioning().roles())) {
            TextEncoding joined = encode(e, String.join(", ", phrases));
            joined.conditioning().tensors().forEach(out::putIfAbsent);
            if (joined.truncated()) {
                truncations.add(new Truncation(e.role(), "joined layout phrases", joined.droppedText()));
            }
        }
        return new TextEncoding(Conditioning.of(out), tokens, "");
    }

    private TextEncoding encodeNegative(TextEncoder e, String text, boolean given) {
        return textCache.get(e.role() + "\u0000-" + (given ? "given" : "") + "\u0000" + text,
                () -> e.encodeNegative(text, given));
    }

    private TextEncoding encode(TextEncoder e, String text) {
        return textCache.get(e.role() + '\u0000' + text, () -> e.encode(text));
    }

    private Tensor styleEmbedding(Request request) {
        BufferedImage img = request.styleFile().map(p -> Images.read(p, EDiff.MIN_STYLE_SIDE))
                .orElseGet(() -> request.styleImage().orElseThrow());
        Images.checkSize("style image", img.getWidth(), img.getHeight(), EDiff.MIN_STYLE_SIDE);
        return styleCache.get(digest(img), () -> imageEncoder.encode(img));
    }

    private static String digest(BufferedImage img) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(4 * img.getWidth() + 8);
            buf.putInt(img.getWidth()).putInt(img.getHeight());
            md.update(buf.array(), 0, 8);
            for (int y = 0; y < img.getHeight(); y++) {
                buf.clear();
                for (int x = 0; x < img.getWidth(); x++) {
                    buf.putInt(img.getRGB(x, y));
                }
                md.update(buf.array(), 0, buf.position());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
