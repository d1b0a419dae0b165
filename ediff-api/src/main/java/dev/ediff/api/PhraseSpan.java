package dev.ediff.api;

/**
 * The tokens of a phrase in a text encoder's token sequence: {@code [start, end)}.
 *
 * @param start first token index
 * @param end   last token index plus one
 */
public record PhraseSpan(int start, int end) {

    /**
     * Checks that {@code 0 <= start < end}.
     *
     * @param start first token index
     * @param end   last token index plus one
     */
    public PhraseSpan {
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("bad phrase span [" + start + ", " + end + ")");
        }
    }
}
