package dev.ediff.api;

import java.util.Objects;

/**
 * One painted phrase (paint-with-words, eDiff-I section 4.4): in every cross-attention layer the
 * logits between the mask's pixels and the phrase's tokens get
 * {@code + weight * log(1 + sigma) * max(QK^T)} before the softmax. Overlapping masks add.
 *
 * @param phrase the words of the prompt to place (whole words, as they appear in the prompt)
 * @param mask   where they go
 * @param weight the user weight {@code w'}, finite and in [0, {@link #MAX_WEIGHT}] (useful: about 0.1 to 1)
 */
public record Paint(String phrase, Mask mask, double weight) {

    /**
     * The largest paint weight: 10. The bias is {@code w' log(1 + sigma) max(QK^T)}: at 10 the painted
     * tokens already outweigh every other logit by an order of magnitude, so larger weights change
     * nothing but the risk of overflow (1e300 overflows to infinity).
     */
    public static final double MAX_WEIGHT = 10;

    /**
     * Checks that the phrase is not blank and the weight is finite and in [0, {@link #MAX_WEIGHT}].
     *
     * @param phrase the words of the prompt to place (whole words, as they appear in the prompt)
     * @param mask   where they go
     * @param weight the user weight {@code w'}, finite and in [0, {@link #MAX_WEIGHT}] (about 0.1 to 1)
     * @throws IllegalArgumentException naming the phrase and the allowed range when the weight is outside it
     */
    public Paint {
        Objects.requireNonNull(phrase, "phrase");
        Objects.requireNonNull(mask, "mask");
        if (phrase.isBlank()) {
            throw new IllegalArgumentException("a painted phrase must not be blank");
        }
        Bounds.finiteIn("paint weight for '" + phrase + "'", weight, 0, MAX_WEIGHT);
    }
}
