package dev.ediff.core;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.api.Truncation;
import dev.ediff.core.image.Images;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;

/**
 * Turns a request's prompts, encoder toggles and style reference into the guidance branches of
 * one generation (batch 1, before any stage filters them): the text encodings per encoder, with
 * encoders switched off replaced by what the model saw in training when they were dropped, and
 * the style image's embedding. Prompt encodings and style embeddings are cached (bounded).
 */
final class Conditioner {

    /**
     * The branches of one request, from least to most conditioned: {@code [uncond, cond]} with text
     * guidance, {@code [cond]} without, and the styled branch last when a style is given.
     */
    record Branches(List<Conditioning> conditionings, boolean textGuided, boolean styled,
                    List<Truncation> truncations) {
    }

    private final Map<String, TextEncoder> textEncoders;
    private final ImageEncoder imageEncoder;
    private final Cache<String, TextEncoding> textCache;
    private final Cache<String, Tensor> styleCache;
    private final int cacheSize;

    Conditioner(Map<String, TextEncoder> textEncoders, ImageEncoder imageEncoder, int cacheSize) {
        this.cacheSize = cacheSize;
        this.textEncoders = Map.copyOf(textEncoders);
        this.imageEncoder = imageEncoder;
        this.textCache = CacheBuilder.newBuilder().maximumSize(cacheSize).recordStats().build();
        this.styleCache = CacheBuilder.newBuilder().maximumSize(Math.max(1, cacheSize / 8)).build();
    }

    Map<String, TextEncoder> textEncoders() {
        return textEncoders;
    }

    ImageEncoder imageEncoder() {
        return imageEncoder;
    }

    int cacheSize() {
        return cacheSize;
    }

    long textCacheHits() {
        return textCache.stats().hitCount();
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
                TextEncoding c = on ? encode(e, request.prompt()) : off;
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
            return new Branches(textGuided ? List.of(uncond, cond) : List.of(cond), textGuided, false, truncations);
        }
        if (imageEncoder == null) {
            throw new IllegalArgumentException("this model has no image encoder, so it cannot take a style image");
        }
        Conditioning off = Conditioning.of(Conditioning.IMAGE_EMBEDDING, imageEncoder.off());
        Conditioning styled = cond.merge(Conditioning.of(Conditioning.IMAGE_EMBEDDING, styleEmbedding(request)));
        List<Conditioning> list = textGuided
                ? List.of(uncond.merge(off), cond.merge(off), styled)
                : List.of(cond.merge(off), styled);
        return new Branches(list, textGuided, true, truncations);
    }

    private TextEncoding encodeNegative(TextEncoder e, String text, boolean given) {
        return cached(textCache, e.role() + "\u0000-" + (given ? "given" : "") + "\u0000" + text,
                () -> e.encodeNegative(text, given), "text encoder '" + e.role() + "'");
    }

    private TextEncoding encode(TextEncoder e, String text) {
        return cached(textCache, e.role() + '\u0000' + text, () -> e.encode(text), "text encoder '" + e.role() + "'");
    }

    private Tensor styleEmbedding(Request request) {
        BufferedImage img = request.styleFile().map(p -> Images.read(p, EDiff.MIN_STYLE_SIDE))
                .orElseGet(() -> request.styleImage().orElseThrow());
        Images.checkSize("style image", img.getWidth(), img.getHeight(), EDiff.MIN_STYLE_SIDE);
        return cached(styleCache, digest(img), () -> imageEncoder.encode(img), "image encoder");
    }

    private static <V> V cached(Cache<String, V> cache, String key, Callable<V> load, String what) {
        try {
            return cache.get(key, load);
        } catch (ExecutionException | com.google.common.util.concurrent.UncheckedExecutionException x) {
            if (x.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new EDiffException(what + " failed: " + x.getCause(), x.getCause());
        }
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
