package dev.ediff.api;

import java.util.Objects;

/**
 * One painted phrase (paint-with-words, eDiff-I section 4.4): in every cross-attention layer the
 * logits between the mask's pixels and the phrase's tokens get
 * {@code + weight * log(1 + sigma) * max(QK^T)} before the softmax. Overlapping masks add.
 *
 * @param phrase the words of the prompt to place (whole words, as they appear in the prompt)
 * @param mask   where they go
 * @param weight the user weight {@code w'}, finite and {@code >= 0} (about 0.1 to 1)
 */
public record Paint(String phrase, Mask mask, double weight) {

    /**
     * Checks that the phrase is not blank and the weight is finite and {@code >= 0}.
     *
     * @param phrase the words of the prompt to place (whole words, as they appear in the prompt)
     * @param mask   where they go
     * @param weight the user weight {@code w'}, finite and {@code >= 0} (about 0.1 to 1)
     */
    public Paint {
        Objects.requireNonNull(phrase, "phrase");
        Objects.requireNonNull(mask, "mask");
        if (phrase.isBlank()) {
            throw new IllegalArgumentException("a painted phrase must not be blank");
        }
        if (!Double.isFinite(weight) || weight < 0) {
            throw new IllegalArgumentException("paint weight for '" + phrase + "' must be finite and >= 0, got " + weight);
        }
    }
}
