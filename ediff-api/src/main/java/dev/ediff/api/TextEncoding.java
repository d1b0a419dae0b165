package dev.ediff.api;

/**
 * A prompt encoded by one text encoder: the conditioning tensors it contributes (batch 1), and
 * what truncation did to the prompt.
 *
 * @param conditioning the encoder's tensors by role, e.g. {@link Conditioning#T5_TOKENS} and {@link Conditioning#T5_MASK}
 * @param tokens       the number of tokens used (including special tokens), before padding
 * @param droppedText  the part of the prompt cut off by the encoder's token limit, "" when none
 */
public record TextEncoding(Conditioning conditioning, int tokens, String droppedText) {

    /** {@return true when the prompt did not fit the encoder's token limit} */
    public boolean truncated() {
        return !droppedText.isEmpty();
    }
}
