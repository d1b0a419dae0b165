package dev.ediff.core.text;

import java.util.Locale;

/** Character classes and case mapping as the reference (Python) tokenizers define them. */
final class CharClasses {

    private CharClasses() {
    }

    /**
     * Python's {@code str.isspace()} / regex {@code \s}: tab to CR, the information separators
     * U+001C..U+001F, space, NEL, NBSP, and the Unicode space separators and line/paragraph separators.
     * Java's {@link Character#isWhitespace} differs (it excludes NBSP and U+202F), hence this list.
     */
    static boolean isSpace(int cp) {
        if (cp <= 0x20) {
            return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
        }
        return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    /** Unicode general category L (Lu, Ll, Lt, Lm, Lo). */
    static boolean isLetter(int cp) {
        return Character.isLetter(cp);
    }

    /** Unicode general category N (Nd, Nl, No). */
    static boolean isNumber(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /**
     * Unicode full lower-casing (like Python's {@code str.lower()}), keeping alignment: each code
     * point is mapped on its own (so U+0130 becomes two chars attributed to it), except capital sigma,
     * whose final form depends on its neighbours (approximated with "letter before, no letter after")
     * when {@code finalSigma} (Python does this; HuggingFace's per-char lowercase does not).
     */
    static AlignedString lowerCase(AlignedString in, boolean finalSigma) {
        String s = in.text();
        if (isLowerAscii(s)) {
            return in;
        }
        AlignedString.Builder b = in.builder();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            int start = in.originalStart(i, i + n);
            int end = in.originalEnd(i, i + n);
            if (cp < 0x80) {
                b.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp), start, end);
            } else if (cp == 0x03A3 && finalSigma) {
                boolean letterBefore = i > 0 && isLetter(s.codePointBefore(i));
                boolean letterAfter = i + n < s.length() && isLetter(s.codePointAt(i + n));
                b.append(letterBefore && !letterAfter ? '\u03C2' : '\u03C3', start, end);
            } else {
                b.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT), start, end);
            }
            i += n;
        }
        return b.build();
    }

    private static boolean isLowerAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80 || (c >= 'A' && c <= 'Z')) {
                return false;
            }
        }
        return true;
    }
}
