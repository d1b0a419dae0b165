package dev.ediff.api;

/**
 * A prompt that did not fit a text encoder.
 *
 * @param encoder     the encoder's role ({@code t5}, {@code clip})
 * @param prompt      which prompt: {@code "prompt"} or {@code "negative prompt"}
 * @param droppedText the text that was cut off
 */
public record Truncation(String encoder, String prompt, String droppedText) {
}
