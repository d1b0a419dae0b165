/**
 * Tokenizers for the text encoders, in pure Java (no native library, no network): CLIP byte-level
 * BPE ({@link dev.ediff.core.text.ClipTokenizer}) and T5 SentencePiece Unigram
 * ({@link dev.ediff.core.text.UnigramTokenizer}) behind {@link dev.ediff.core.text.Tokenizer}, opened
 * from the standard files by {@link dev.ediff.core.text.Tokenizers#load}. Encodings carry offsets into
 * the original prompt, a truncation report, and phrase spans for paint-with-words. See
 * {@code docs/tokenizers.md}.
 */
package dev.ediff.core.text;
