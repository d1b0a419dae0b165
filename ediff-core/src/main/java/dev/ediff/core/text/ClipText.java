package dev.ediff.core.text;

import java.util.List;

/**
 * CLIP's text clean-up and piece splitting, as the reference {@code simple_tokenizer.py} does it
 * (without the {@code ftfy} fix-up, which the conformance prompts do not need).
 */
final class ClipText {

    private ClipText() {
    }

    /** Receives the pieces of a normalized text. */
    interface PieceSink {
        /** Piece {@code [start, end)}; {@code special} is the matching special-token string or null. */
        void piece(int start, int end, String special);
    }

    /**
     * HTML-unescape twice, fold every whitespace run to one space and trim, lower-case. The folding
     * happens before lower-casing, as in the reference; lower-casing creates no whitespace.
     */
    static AlignedString normalize(String text) {
        AlignedString a = HtmlEntities.unescape(HtmlEntities.unescape(AlignedString.of(text)));
        return CharClasses.lowerCase(foldWhitespace(a), true);
    }

    static AlignedString foldWhitespace(AlignedString in) {
        String s = in.text();
        AlignedString.Builder b = in.builder();
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (!CharClasses.isSpace(cp)) {
                b.copy(in, i, i + n);
                i += n;
                continue;
            }
            int start = i;
            while (i < s.length() && CharClasses.isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            // leading and trailing runs vanish (the reference strips), inner runs become one space
            if (start > 0 && i < s.length()) {
                b.append(' ', in.originalStart(start, i), in.originalEnd(start, i));
            }
        }
        return b.build();
    }

    /**
     * Splits like the reference pattern
     * {@code <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
     * scanned left to right (first alternative that matches at a position wins; whitespace between
     * pieces is dropped). {@code specials} replaces the two special-token alternatives.
     */
    static void split(String s, List<String> specials, PieceSink sink) {
        int i = 0;
        int n = s.length();
        outer:
        while (i < n) {
            for (String sp : specials) {
                if (s.startsWith(sp, i)) {
                    sink.piece(i, i + sp.length(), sp);
                    i += sp.length();
                    continue outer;
                }
            }
            int cp = s.codePointAt(i);
            if (cp == '\'') {
                int len = contraction(s, i);
                if (len > 0) {
                    sink.piece(i, i + len, null);
                    i += len;
                    continue;
                }
            }
            int start = i;
            if (CharClasses.isLetter(cp)) {
                while (i < n && CharClasses.isLetter(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
            } else if (CharClasses.isNumber(cp)) {
                i += Character.charCount(cp);
            } else if (CharClasses.isSpace(cp)) {
                i += Character.charCount(cp);
                continue;
            } else {
                while (i < n) {
                    int c = s.codePointAt(i);
                    if (CharClasses.isSpace(c) || CharClasses.isLetter(c) || CharClasses.isNumber(c)) {
                        break;
                    }
                    i += Character.charCount(c);
                }
            }
            sink.piece(start, i, null);
        }
    }

    /** Length of the contraction ('s 't 're 've 'm 'll 'd) at {@code i}, or 0. */
    private static int contraction(String s, int i) {
        if (i + 1 >= s.length()) {
            return 0;
        }
        char a = s.charAt(i + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return 2;
        }
        if (i + 2 < s.length()) {
            char b = s.charAt(i + 2);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                return 3;
            }
        }
        return 0;
    }
}
