package dev.ediff.core.text;

/**
 * A half-open range {@code [start, end)} of token indices in an {@link Encoding}.
 *
 * @param start first token index (inclusive)
 * @param end   last token index plus one
 */
public record TokenSpan(int start, int end) {

    /**
     * Checks that {@code 0 <= start <= end}.
     *
     * @param start first token index (inclusive)
     * @param end   last token index plus one
     */
    public TokenSpan {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad token span [" + start + ", " + end + ")");
        }
    }

    /** {@return number of tokens in the span} */
    public int size() {
        return end - start;
    }
}
