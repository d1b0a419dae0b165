package dev.ediff.onnx.diffusers;

import dev.ediff.api.Conditioning;
import dev.ediff.api.PhraseSpan;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.core.text.Encoding;
import dev.ediff.core.text.TokenSpan;
import dev.ediff.core.text.Tokenizer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A diffusers folder's text conditioning as one of the pipeline's {@link TextEncoder}s, writing
 * tensors named {@code <prefix>.tokens}, {@code <prefix>.pooled}, {@code <prefix>.aesthetic} (the
 * SDXL refiner's score) and, for SD3's T5 part, {@code <prefix>.t5}; the prefix keeps the
 * conditioning of two experts (SDXL base and refiner) apart in one routed pipeline. The negative
 * branch follows the family's pipeline: SD 1.x/2.x and SD3 encode the empty prompt, the SDXL base
 * zeroes it ({@code force_zeros_for_empty_prompt}), the refiner encodes it with the negative
 * aesthetic score. Switched off, an encoder gives zeros (SD3 without T5 is what diffusers runs
 * when text_encoder_3 is dropped). Does not own the graphs.
 */
final class DiffusersTextEncoder implements TextEncoder {

    /** The refiner's aesthetic scores (diffusers' defaults). */
    static final double AESTHETIC = 6.0;
    static final double NEGATIVE_AESTHETIC = 2.5;

    private final DiffusersPromptEncoder prompts;
    private final String role;
    private final String prefix;
    private final boolean t5;
    private final boolean forceZeros;
    private final int clipSkip;
    private volatile TextEncoding off;

    private DiffusersTextEncoder(DiffusersPromptEncoder prompts, String role, String prefix, boolean t5, boolean forceZeros,
                                 int clipSkip) {
        this.prompts = prompts;
        this.clipSkip = clipSkip;
        this.role = role;
        this.prefix = prefix;
        this.t5 = t5;
        this.forceZeros = forceZeros;
    }

    /** The CLIP part (all of the text conditioning for SD 1.x/2.x and SDXL). */
    static DiffusersTextEncoder clip(DiffusersPromptEncoder prompts, String role, String prefix, boolean forceZeros) {
        return clip(prompts, role, prefix, forceZeros, 0);
    }

    /** The CLIP part with clip skip for the prompt (checked by {@link DiffusersPromptEncoder#checkClipSkip}). */
    static DiffusersTextEncoder clip(DiffusersPromptEncoder prompts, String role, String prefix, boolean forceZeros,
                                     int clipSkip) {
        prompts.checkClipSkip(clipSkip);
        return new DiffusersTextEncoder(prompts, role, prefix, false, forceZeros, clipSkip);
    }

    /** SD3's T5 part, switched by {@code Request.t5}. */
    static DiffusersTextEncoder t5(DiffusersPromptEncoder prompts, String prefix) {
        return new DiffusersTextEncoder(prompts, TextEncoder.T5, prefix, true, false, 0);
    }

    @Override
    public String role() {
        return role;
    }

    @Override
    public int tokenLength() {
        return t5 ? DiffusersPromptEncoder.T5_TOKENS : 77;
    }

    @Override
    public TextEncoding encode(String text) {
        return encode(text, AESTHETIC, clipSkip);
    }

    @Override
    public TextEncoding encodeNegative(String text) {
        return encodeNegative(text, !text.isEmpty());
    }

    /**
     * As diffusers: with {@code force_zeros_for_empty_prompt} (the SDXL base) a negative branch
     * without a negative prompt is all zeros, while a given one, {@code ""} included, is encoded.
     */
    @Override
    public TextEncoding encodeNegative(String text, boolean given) {
        if (!given && forceZeros) {
            return off();
        }
        return encode(text, NEGATIVE_AESTHETIC, 0); // diffusers applies clip skip to the prompt only
    }

    @Override
    public TextEncoding off() {
        TextEncoding o = off;
        if (o == null) {
            o = zeros();
            off = o;
        }
        return o;
    }

    private TextEncoding zeros() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        if (t5) {
            m.put(prefix + ".t5", Tensor.of(new float[DiffusersPromptEncoder.T5_TOKENS * prompts.width()], 1,
                    DiffusersPromptEncoder.T5_TOKENS, prompts.width()));
        } else {
            DiffusersPromptEncoder.Branch shape = prompts.branch("", 0);
            m.put(prefix + ".tokens", Tensor.of(new float[shape.tokens().length], 1, 77, prompts.width()));
            if (shape.pooled().length > 0) {
                m.put(prefix + ".pooled", Tensor.of(new float[shape.pooled().length], 1, shape.pooled().length));
            }
            if (prompts.family() == DiffusersFamily.SDXL_REFINER) {
                m.put(prefix + ".aesthetic", Tensor.of(new float[] {(float) NEGATIVE_AESTHETIC}, 1, 1));
            }
        }
        return new TextEncoding(Conditioning.of(m), 0, "");
    }

    private TextEncoding encode(String text, double aesthetic, int skip) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        if (t5) {
            m.put(prefix + ".t5", Tensor.of(prompts.t5Part(text), 1, DiffusersPromptEncoder.T5_TOKENS, prompts.width()));
        } else {
            DiffusersPromptEncoder.Branch b = prompts.branch(text, skip);
            m.put(prefix + ".tokens", Tensor.of(b.tokens(), 1, 77, prompts.width()));
            if (b.pooled().length > 0) {
                m.put(prefix + ".pooled", Tensor.of(b.pooled(), 1, b.pooled().length));
            }
            if (prompts.family() == DiffusersFamily.SDXL_REFINER) {
                m.put(prefix + ".aesthetic", Tensor.of(new float[] {(float) aesthetic}, 1, 1));
            }
        }
        Encoding full = prompts.tokenizer(t5).encode(text);
        int limit = tokenLength();
        String dropped = "";
        if (full.length() > limit) {
            // the last kept position holds the end token; text from the first token that did not fit is dropped
            int at = full.start(limit - 1);
            dropped = at >= 0 ? text.substring(at) : "";
        }
        return new TextEncoding(Conditioning.of(m), Math.min(full.length(), limit), dropped);
    }

    /**
     * The phrase's token positions within this encoder's padded sequence. SDXL's two CLIP encoders
     * tokenize alike, but their spans are united in case a vocabulary splits a word differently:
     * the states are joined along the width, so a column belongs to the phrase if either
     * encoder's token there does. T5's positions are T5's (after the CLIP columns in SD3's joint
     * sequence, which the expert handles).
     */
    @Override
    public PhraseSpan locate(String prompt, String phrase) {
        int limit = tokenLength();
        int start = Integer.MAX_VALUE;
        int end = -1;
        for (Tokenizer tok : prompts.columnTokenizers(t5)) {
            Optional<TokenSpan> span = tok.findSpan(tok.encode(prompt, limit), phrase);
            if (span.isPresent()) {
                start = Math.min(start, span.get().start());
                end = Math.max(end, span.get().end());
            } else if (tok.findSpan(tok.encode(prompt), phrase).isPresent()) {
                throw new IllegalArgumentException("the painted phrase '" + phrase + "' is cut off by the " + role
                        + " encoder's limit of " + limit + " tokens; shorten the prompt or move the phrase forward");
            } else {
                throw new IllegalArgumentException("the painted phrase '" + phrase + "' is not in the prompt \"" + prompt
                        + "\" (phrases must be whole words of the prompt)");
            }
        }
        if (end < 0) {
            throw new IllegalArgumentException("text encoder '" + role + "' has no tokenizer to locate '" + phrase + "' with");
        }
        return new PhraseSpan(start, end);
    }

    @Override
    public String toString() {
        return "DiffusersTextEncoder[" + role + " -> " + prefix + (t5 ? ".t5" : ".tokens") + "]";
    }
}
