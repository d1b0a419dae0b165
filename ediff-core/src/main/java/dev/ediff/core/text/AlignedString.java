package dev.ediff.core.text;

import java.util.Arrays;

/**
 * A normalized string that remembers, for each of its chars, the range of the original text it
 * came from. Normalization steps (entity unescaping, whitespace folding, lower-casing, NFKC...)
 * change lengths; composing them through this class is what lets encodings report offsets into the
 * original text.
 */
final class AlignedString {

    private final String text;
    private final int[] starts;
    private final int[] ends;
    /** Where an empty string sits in the original (so zero-length pieces still have a position). */
    private final int anchor;

    private AlignedString(String text, int[] starts, int[] ends, int anchor) {
        this.text = text;
        this.starts = starts;
        this.ends = ends;
        this.anchor = anchor;
    }

    /** The original text, aligned to itself. */
    static AlignedString of(String original) {
        int n = original.length();
        int[] s = new int[n];
        int[] e = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = i;
            e[i] = i + 1;
        }
        return new AlignedString(original, s, e, 0);
    }

    String text() {
        return text;
    }

    int length() {
        return text.length();
    }

    /** Original start of the normalized range {@code [from, to)}; for an empty range, its position. */
    int originalStart(int from, int to) {
        if (from < to) {
            return starts[from];
        }
        return positionAt(from);
    }

    /** Original end of the normalized range {@code [from, to)}. */
    int originalEnd(int from, int to) {
        if (from >= to) {
            return positionAt(from);
        }
        int end = ends[from];
        for (int i = from + 1; i < to; i++) {
            end = Math.max(end, ends[i]);
        }
        return end;
    }

    private int positionAt(int index) {
        if (index < text.length()) {
            return starts[index];
        }
        return text.isEmpty() ? anchor : ends[text.length() - 1];
    }

    /** The normalized range {@code [from, to)}, keeping its alignment. */
    AlignedString substring(int from, int to) {
        return new AlignedString(text.substring(from, to), Arrays.copyOfRange(starts, from, to),
                Arrays.copyOfRange(ends, from, to), originalStart(from, to));
    }

    Builder builder() {
        return new Builder(text.length(), anchor);
    }

    /** Builds a new aligned string from pieces of an old one, each appended with its original range. */
    static final class Builder {
        private final StringBuilder sb;
        private int[] starts;
        private int[] ends;
        private final int anchor;

        Builder(int capacity, int anchor) {
            sb = new StringBuilder(capacity);
            starts = new int[Math.max(4, capacity)];
            ends = new int[starts.length];
            this.anchor = anchor;
        }

        /** Appends {@code s}; every char of it is attributed to the original range {@code [start, end)}. */
        Builder append(CharSequence s, int start, int end) {
            for (int i = 0; i < s.length(); i++) {
                append(s.charAt(i), start, end);
            }
            return this;
        }

        Builder append(char c, int start, int end) {
            int n = sb.length();
            if (n == starts.length) {
                starts = Arrays.copyOf(starts, n * 2);
                ends = Arrays.copyOf(ends, n * 2);
            }
            sb.append(c);
            starts[n] = start;
            ends[n] = end;
            return this;
        }

        /** Appends chars {@code [from, to)} of {@code source}, with its alignment, unchanged. */
        Builder copy(AlignedString source, int from, int to) {
            for (int i = from; i < to; i++) {
                append(source.text.charAt(i), source.starts[i], source.ends[i]);
            }
            return this;
        }

        int length() {
            return sb.length();
        }

        AlignedString build() {
            int n = sb.length();
            return new AlignedString(sb.toString(), Arrays.copyOf(starts, n), Arrays.copyOf(ends, n), anchor);
        }
    }
}
