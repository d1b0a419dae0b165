package dev.ediff.core.text;

import java.util.Optional;

/**
 * Turns prompts into token ids for a text encoder, and back.
 *
 * <p>Implementations are immutable and thread-safe. Offsets in an {@link Encoding} always refer to
 * the <em>original</em> text passed to {@link #encode}, not to its normalized form, so that a caller
 * can highlight or edit the exact characters a token came from.
 */
public interface Tokenizer {

    /**
     * Encodes with the tokenizer's special tokens (e.g. CLIP's start/end, T5's {@code </s>}),
     * without padding or truncation.
     *
     * @param text the text
     * @return its ids, tokens and character offsets
     */
    Encoding encode(String text);

    /**
     * Encodes to exactly {@code maxLength} ids: the special tokens are always kept, the content is
     * truncated if needed (the result reports it, see {@link Encoding#truncated()}), and the rest is
     * filled with {@link SpecialIds#pad()}.
     *
     * @param text      the text
     * @param maxLength the number of ids wanted
     * @return the encoding, {@code maxLength} ids long
     * @throws IllegalArgumentException if {@code maxLength} cannot hold the special tokens
     */
    Encoding encode(String text, int maxLength);

    /**
     * Encodes to {@link #contextLength()} ids (truncating and padding).
     *
     * @param text the text
     * @return the encoding
     */
    default Encoding encodeToContext(String text) {
        return encode(text, contextLength());
    }

    /**
     * The text of {@code ids}, skipping special and padding tokens.
     *
     * @param ids token ids of this tokenizer
     * @return the decoded text
     */
    String decode(int[] ids);

    /** {@return number of ids (the largest id plus one)} */
    int vocabSize();

    /** {@return start, end, padding and unknown ids} */
    SpecialIds specialIds();

    /** {@return the text encoder's usual maximum number of ids (77 for CLIP)} */
    int contextLength();

    /**
     * The text after the tokenizer's normalization (e.g. lower-casing, whitespace clean-up): the form
     * in which phrases are compared by {@link #findSpan}.
     *
     * @param text the text
     * @return the normalized text
     */
    String normalize(String text);

    /**
     * Token index range {@code [start, end)} of the first occurrence of {@code phrase} inside the
     * encoding of {@code prompt} (indices count the start token, so they index {@link Encoding#ids()}
     * directly). The phrase matches as the tokenizer normalizes it (so case-insensitively for CLIP),
     * must cover whole tokens and must not cut a word of the prompt.
     *
     * @param prompt the prompt
     * @param phrase the phrase to find
     * @return its token span; empty if there is no such occurrence or the phrase has no tokens
     */
    default Optional<TokenSpan> findSpan(String prompt, String phrase) {
        return findSpan(encode(prompt), phrase);
    }

    /**
     * As {@link #findSpan(String, String)}, inside an existing (possibly truncated) encoding of a
     * prompt made by this tokenizer: a phrase cut off by truncation is not found.
     *
     * @param prompt the prompt's encoding
     * @param phrase the phrase to find
     * @return its token span, or empty
     */
    Optional<TokenSpan> findSpan(Encoding prompt, String phrase);
}
