package dev.ediff.api;

/**
 * Turns a prompt into conditioning tensors: eDiff-I uses a T5 and a CLIP text encoder together.
 * Implementations are thread-safe. The pipeline caches encodings.
 */
public interface TextEncoder extends AutoCloseable {

    /** T5's role name. */
    String T5 = "t5";
    /** CLIP's role name. */
    String CLIP = "clip";

    /** {@return {@link #T5}, {@link #CLIP}, or another name for other encoders} */
    String role();

    /**
     * Encodes {@code text} (batch 1).
     *
     * @param text the prompt
     * @return its encoding
     */
    TextEncoding encode(String text);

    /**
     * What the model was trained to see when this encoder is switched off (condition dropout):
     * zeros, or the encoding of the empty prompt, as the model defines.
     *
     * @return that encoding, batch 1
     */
    TextEncoding off();

    /**
     * Encodes the negative prompt of the unconditional guidance branch; {@code ""} means none was
     * given. The default is {@link #off()} for {@code ""} and {@link #encode} otherwise; an encoder
     * whose model treats the negative branch differently overrides it (Stable Diffusion encodes the
     * empty prompt, SDXL zeroes it, its refiner conditions on a lower aesthetic score).
     *
     * @param text the negative prompt, {@code ""} when none was given
     * @return its encoding, batch 1
     */
    default TextEncoding encodeNegative(String text) {
        return text.isEmpty() ? off() : encode(text);
    }

    /**
     * Encodes the negative prompt, knowing whether one was given ({@link Request#negativePromptGiven()}):
     * {@code given} with {@code text} {@code ""} is an explicit empty negative prompt. The default is
     * {@link #encodeNegative(String)}, for which the two are the same; an encoder whose model tells
     * them apart (SDXL zeroes the branch only when none was given) overrides this.
     *
     * @param text  the negative prompt, {@code ""} when none was given
     * @param given whether the request gave one
     * @return its encoding, batch 1
     */
    default TextEncoding encodeNegative(String text, boolean given) {
        return encodeNegative(text);
    }

    /**
     * Encodes {@code text} on its own into {@code length} token positions: one phrase of a prompt
     * laid out as several phrases, each encoded alone into its own block of the token context
     * (see {@code dev.ediff.core.text.PromptLayout}). The text is tokenized with {@code length} as
     * the token limit, truncated as {@link #encode} truncates at its own limit (the end token kept,
     * the cut reported in {@link TextEncoding#droppedText()}). The result holds the token roles
     * only (e.g. {@link Conditioning#CLIP_TOKENS} {@code [1, length, dim]} and
     * {@link Conditioning#CLIP_MASK} {@code [1, length]}), no pooled embedding. The default refuses:
     * an encoder that supports laid-out prompts overrides it.
     *
     * @param text   the phrase
     * @param length the number of token positions, 1..{@link #tokenLength()}
     * @return its encoding, batch 1, {@code length} tokens long
     * @throws IllegalArgumentException when {@code length} is outside 1..{@link #tokenLength()} or
     *                                  cannot hold the tokenizer's special tokens
     * @throws UnsupportedOperationException when this encoder cannot encode phrases alone
     */
    default TextEncoding encodePhrase(String text, int length) {
        throw new UnsupportedOperationException("text encoder '" + role() + "' cannot encode a phrase on its own");
    }

    /** {@return the number of token positions this encoder outputs (its padded length)} */
    default int tokenLength() {
        throw new UnsupportedOperationException("text encoder '" + role() + "' does not expose its token length");
    }

    /**
     * The token positions of {@code phrase} in the encoding of {@code prompt} (paint-with-words).
     *
     * @param prompt the prompt
     * @param phrase whole words of the prompt
     * @return the phrase's tokens
     * @throws IllegalArgumentException when the phrase is not in the prompt (whole words), or was
     *                                  cut off by the token limit; the message shows the prompt
     */
    default PhraseSpan locate(String prompt, String phrase) {
        throw new UnsupportedOperationException("text encoder '" + role() + "' cannot locate phrases");
    }

    @Override
    default void close() {
    }
}
