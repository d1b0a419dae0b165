package dev.ediff.core.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What every tokenizer shares once its model has turned a text into content tokens: adding the
 * special tokens, truncation that always keeps them, padding, and phrase search.
 */
abstract class BaseTokenizer implements Tokenizer {

    private final int[] prefix;
    private final int[] suffix;
    private final SpecialIds specialIds;
    private final int contextLength;

    BaseTokenizer(int[] prefix, int[] suffix, SpecialIds specialIds, int contextLength) {
        this.prefix = prefix.clone();
        this.suffix = suffix.clone();
        this.specialIds = specialIds;
        if (contextLength < prefix.length + suffix.length) {
            throw new IllegalArgumentException("context length " + contextLength + " cannot hold the "
                    + (prefix.length + suffix.length) + " special tokens");
        }
        this.contextLength = contextLength;
    }

    /** The content tokens of {@code text}, offsets into it, no special tokens. */
    abstract TokenList tokenize(String text);

    /** The vocabulary string of {@code id}. */
    abstract String tokenString(int id);

    @Override
    public final SpecialIds specialIds() {
        return specialIds;
    }

    @Override
    public final int contextLength() {
        return contextLength;
    }

    int[] prefixIds() {
        return prefix.clone();
    }

    int[] suffixIds() {
        return suffix.clone();
    }

    @Override
    public Encoding encode(String text) {
        TokenList t = tokenize(Objects.requireNonNull(text, "text"));
        return assemble(text, t, t.size, prefix.length + t.size + suffix.length);
    }

    @Override
    public Encoding encode(String text, int maxLength) {
        int room = maxLength - prefix.length - suffix.length;
        if (room < 0) {
            throw new IllegalArgumentException("max length " + maxLength + " cannot hold the "
                    + (prefix.length + suffix.length) + " special tokens");
        }
        TokenList t = tokenize(Objects.requireNonNull(text, "text"));
        return assemble(text, t, Math.min(room, t.size), maxLength);
    }

    /** Special tokens around the first {@code keep} content tokens, padded with the pad id to {@code total}. */
    private Encoding assemble(String text, TokenList t, int keep, int total) {
        int[] ids = new int[total];
        String[] tokens = new String[total];
        int[] starts = new int[total];
        int[] ends = new int[total];
        Arrays.fill(starts, -1);
        Arrays.fill(ends, -1);
        int k = 0;
        for (int id : prefix) {
            ids[k] = id;
            tokens[k++] = tokenString(id);
        }
        System.arraycopy(t.ids, 0, ids, k, keep);
        System.arraycopy(t.tokens, 0, tokens, k, keep);
        System.arraycopy(t.starts, 0, starts, k, keep);
        System.arraycopy(t.ends, 0, ends, k, keep);
        k += keep;
        for (int id : suffix) {
            ids[k] = id;
            tokens[k++] = tokenString(id);
        }
        int length = k;
        if (length < total) {
            int pad = specialIds.pad();
            String padToken = tokenString(pad);
            Arrays.fill(ids, length, total, pad);
            Arrays.fill(tokens, length, total, padToken);
        }
        int droppedFrom = keep < t.size ? t.starts[keep] : -1;
        return new Encoding(text, ids, tokens, starts, ends, length, droppedFrom, droppedWords(text, droppedFrom));
    }

    /** Whitespace-separated words of {@code text} that end after {@code from}. */
    private static List<String> droppedWords(String text, int from) {
        List<String> words = new ArrayList<>();
        if (from < 0) {
            return words;
        }
        int i = 0;
        while (i < text.length()) {
            while (i < text.length() && CharClasses.isSpace(text.codePointAt(i))) {
                i += Character.charCount(text.codePointAt(i));
            }
            int start = i;
            while (i < text.length() && !CharClasses.isSpace(text.codePointAt(i))) {
                i += Character.charCount(text.codePointAt(i));
            }
            if (i > start && i > from) {
                words.add(text.substring(start, i));
            }
        }
        return words;
    }

    @Override
    public Optional<TokenSpan> findSpan(Encoding prompt, String phrase) {
        TokenList p = tokenize(Objects.requireNonNull(phrase, "phrase"));
        if (p.size == 0) {
            return Optional.empty();
        }
        String text = prompt.text();
        for (int i = 0; i + p.size <= prompt.length(); i++) {
            if (matches(prompt, i, p) && alignsToWords(text, prompt.start(i), prompt.end(i + p.size - 1))) {
                return Optional.of(new TokenSpan(i, i + p.size));
            }
        }
        return Optional.empty();
    }

    private static boolean matches(Encoding prompt, int at, TokenList phrase) {
        for (int k = 0; k < phrase.size; k++) {
            if (prompt.id(at + k) != phrase.ids[k] || prompt.start(at + k) < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the original text {@code [start, end)} does not cut a word: a letter or digit at an edge
     * of the phrase must not continue outside it (so "dog" is not found inside "hotdog", even where
     * the tokens happen to align).
     */
    private static boolean alignsToWords(String text, int start, int end) {
        while (start < end && CharClasses.isSpace(text.codePointAt(start))) {
            start += Character.charCount(text.codePointAt(start));
        }
        while (end > start && CharClasses.isSpace(text.codePointBefore(end))) {
            end -= Character.charCount(text.codePointBefore(end));
        }
        if (start == end) {
            return true;
        }
        boolean cutBefore = start > 0 && isWordChar(text.codePointBefore(start)) && isWordChar(text.codePointAt(start));
        boolean cutAfter = end < text.length() && isWordChar(text.codePointBefore(end)) && isWordChar(text.codePointAt(end));
        return !cutBefore && !cutAfter;
    }

    private static boolean isWordChar(int cp) {
        return CharClasses.isLetter(cp) || CharClasses.isNumber(cp);
    }
}
