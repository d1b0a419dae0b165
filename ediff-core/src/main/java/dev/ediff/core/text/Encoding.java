package dev.ediff.core.text;

import java.util.Arrays;
import java.util.List;

/**
 * The result of {@link Tokenizer#encode}: ids, the token strings, and for each token the range of
 * characters {@code [start(i), end(i))} of the <em>original</em> text it came from. Special and
 * padding tokens have no text: their start and end are {@code -1}. A token made of part of a
 * multi-byte character covers that whole character, so neighbouring ranges may overlap.
 *
 * <p>When the text did not fit, {@link #truncated()} is true and {@link #droppedText()} /
 * {@link #droppedWords()} say what the encoder will not see.
 */
public final class Encoding {

    private final String text;
    private final int[] ids;
    private final String[] tokens;
    private final int[] starts;
    private final int[] ends;
    private final int length;
    private final int droppedFrom;
    private final List<String> droppedWords;

    Encoding(String text, int[] ids, String[] tokens, int[] starts, int[] ends, int length,
             int droppedFrom, List<String> droppedWords) {
        this.text = text;
        this.ids = ids;
        this.tokens = tokens;
        this.starts = starts;
        this.ends = ends;
        this.length = length;
        this.droppedFrom = droppedFrom;
        this.droppedWords = List.copyOf(droppedWords);
    }

    /** {@return the original text that was encoded} */
    public String text() {
        return text;
    }

    /** {@return a copy of the ids, padding included} */
    public int[] ids() {
        return ids.clone();
    }

    /** {@return number of ids, padding included} */
    public int size() {
        return ids.length;
    }

    /**
     * The id at {@code index}.
     *
     * @param index the token index
     * @return the id
     */
    public int id(int index) {
        return ids[index];
    }

    /**
     * The vocabulary string of the token at {@code index} (e.g. {@code "horse</w>"}, {@code "▁horse"}).
     *
     * @param index the token index
     * @return the token string
     */
    public String token(int index) {
        return tokens[index];
    }

    /**
     * First character of the original text for the token at {@code index}.
     *
     * @param index the token index
     * @return the offset, or -1 for special and padding tokens
     */
    public int start(int index) {
        return starts[index];
    }

    /**
     * End (exclusive) in the original text for the token at {@code index}.
     *
     * @param index the token index
     * @return the offset, or -1 for special and padding tokens
     */
    public int end(int index) {
        return ends[index];
    }

    /** {@return number of ids before the padding (special tokens included)} */
    public int length() {
        return length;
    }

    /** {@return 1 for the first {@link #length()} positions, 0 for padding} */
    public int[] attentionMask() {
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 0, length, 1);
        return mask;
    }

    /** {@return whether content tokens were dropped to fit the maximum length} */
    public boolean truncated() {
        return droppedFrom >= 0;
    }

    /** {@return offset in the original text of the first character not seen by the encoder, or -1 if nothing was dropped} */
    public int droppedFrom() {
        return droppedFrom;
    }

    /** {@return the original text from {@link #droppedFrom()} on; empty if nothing was dropped} */
    public String droppedText() {
        return droppedFrom < 0 ? "" : text.substring(droppedFrom);
    }

    /**
     * The whitespace-separated words of the original text that the encoder does not see entirely
     * (a word cut in the middle is listed).
     *
     * @return the dropped words; empty if nothing was dropped
     */
    public List<String> droppedWords() {
        return droppedWords;
    }

    @Override
    public String toString() {
        return "Encoding" + Arrays.toString(ids) + (truncated() ? " truncated at char " + droppedFrom : "");
    }
}
