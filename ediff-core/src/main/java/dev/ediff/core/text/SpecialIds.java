package dev.ediff.core.text;

/**
 * The special token ids of a tokenizer; {@link #NONE} where a tokenizer has no such token
 * (T5 has no start token).
 *
 * @param bos start-of-text id, prepended by {@link Tokenizer#encode}
 * @param eos end-of-text id, appended by {@link Tokenizer#encode}
 * @param pad id used to fill up to a maximum length
 * @param unk id given to text the vocabulary cannot represent
 */
public record SpecialIds(int bos, int eos, int pad, int unk) {

    /** Marks an absent special token. */
    public static final int NONE = -1;
}
