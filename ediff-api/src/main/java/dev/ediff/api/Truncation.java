package dev.ediff.api;

/**
 * A prompt that did not fit a text encoder.
 *
 * @param encoder     the encoder's role ({@code t5}, {@code clip})
 * @param prompt      which prompt: {@code "prompt"}, {@code "negative prompt"}, or for a laid-out prompt
 *                    {@code "layout phrase \"...\""} (one phrase, in its share of the tokens) or
 *                    {@code "joined layout phrases"} (the text of the pooled embedding)
 * @param droppedText the text that was cut off
 */
public record Truncation(String encoder, String prompt, String droppedText) {
}
