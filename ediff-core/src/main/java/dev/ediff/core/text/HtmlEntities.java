package dev.ediff.core.text;

import java.util.HashMap;
import java.util.Map;

/**
 * HTML character reference unescaping with the rules of Python's {@code html.unescape} (which the
 * CLIP reference applies twice): numeric references in decimal or hex with or without {@code ;}
 * (with the HTML5 replacements for NUL, surrogates, C1 controls and non-characters), and named
 * references. Only a common subset of the 2231 HTML5 names is known: the Latin-1 set (which, like
 * in HTML5, may also appear without {@code ;}), {@code amp lt gt quot apos}, Greek letters,
 * typographic quotes and dashes, and a few symbols. An unknown name is left as is.
 */
final class HtmlEntities {

    private static final Map<String, String> NAMED = new HashMap<>();
    /** Names that HTML5 also accepts without a semicolon (the legacy HTML 4 / Latin-1 set). */
    private static final Map<String, String> LEGACY = new HashMap<>();
    private static final int MAX_NAME = 32;

    static {
        String latin1 = "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg "
                + "plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest "
                + "Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute "
                + "Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml "
                + "Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc "
                + "euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash "
                + "ugrave uacute ucirc uuml yacute thorn yuml";
        int cp = 0xA0;
        for (String name : latin1.split(" ")) {
            legacy(name, cp++);
        }
        legacy("amp", '&');
        legacy("AMP", '&');
        legacy("lt", '<');
        legacy("LT", '<');
        legacy("gt", '>');
        legacy("GT", '>');
        legacy("quot", '"');
        legacy("QUOT", '"');
        legacy("COPY", 0xA9);
        legacy("REG", 0xAE);
        named("apos", '\'');
        String greek = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
                + "sigmaf sigma tau upsilon phi chi psi omega";
        cp = 0x3B1;
        for (String name : greek.split(" ")) {
            named(name, cp);
            if (!name.equals("sigmaf")) {
                // capitals skip U+03A2 (unassigned), which is where "sigmaf" would be
                named(Character.toUpperCase(name.charAt(0)) + name.substring(1), cp - 0x20);
            }
            cp++;
        }
        String[] symbols = {
            "ndash", "\u2013", "mdash", "\u2014", "lsquo", "\u2018", "rsquo", "\u2019", "sbquo", "\u201A",
            "ldquo", "\u201C", "rdquo", "\u201D", "bdquo", "\u201E", "dagger", "\u2020", "Dagger", "\u2021",
            "bull", "\u2022", "hellip", "\u2026", "permil", "\u2030", "prime", "\u2032", "Prime", "\u2033",
            "lsaquo", "\u2039", "rsaquo", "\u203A", "euro", "\u20AC", "trade", "\u2122", "larr", "\u2190",
            "uarr", "\u2191", "rarr", "\u2192", "darr", "\u2193", "harr", "\u2194", "minus", "\u2212",
            "infin", "\u221E", "ne", "\u2260", "le", "\u2264", "ge", "\u2265", "spades", "\u2660",
            "clubs", "\u2663", "hearts", "\u2665", "diams", "\u2666", "ensp", "\u2002", "emsp", "\u2003",
            "thinsp", "\u2009", "zwnj", "\u200C", "zwj", "\u200D", "OElig", "\u0152", "oelig", "\u0153",
            "Scaron", "\u0160", "scaron", "\u0161", "Yuml", "\u0178", "fnof", "\u0192", "circ", "\u02C6",
            "tilde", "\u02DC", "frasl", "\u2044", "star", "\u2606", "check", "\u2713", "hyphen", "\u2010",
        };
        for (int i = 0; i < symbols.length; i += 2) {
            NAMED.put(symbols[i], symbols[i + 1]);
        }
    }

    /** Windows-1252 meanings of the C1 range, as the HTML5 numeric-reference rules use them. */
    private static final String CP1252_80_9F =
            "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F"
            + "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    private HtmlEntities() {
    }

    private static void legacy(String name, int cp) {
        String value = new String(Character.toChars(cp));
        LEGACY.put(name, value);
        NAMED.put(name, value);
    }

    private static void named(String name, int cp) {
        NAMED.put(name, new String(Character.toChars(cp)));
    }

    /** One pass of unescaping; replacement chars are attributed to the whole reference. */
    static AlignedString unescape(AlignedString in) {
        String s = in.text();
        if (s.indexOf('&') < 0) {
            return in;
        }
        AlignedString.Builder b = in.builder();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != '&') {
                b.copy(in, i, i + 1);
                i++;
                continue;
            }
            int consumed = reference(in, i, b);
            if (consumed == 0) {
                b.copy(in, i, i + 1);
                i++;
            } else {
                i += consumed;
            }
        }
        return b.build();
    }

    /** Appends the replacement of the reference at {@code amp}; returns chars consumed, 0 if none. */
    private static int reference(AlignedString in, int amp, AlignedString.Builder b) {
        String s = in.text();
        int i = amp + 1;
        if (i < s.length() && s.charAt(i) == '#') {
            boolean hex = i + 1 < s.length() && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X');
            int digitsStart = hex ? i + 2 : i + 1;
            int j = digitsStart;
            while (j < s.length() && (hex ? Character.digit(s.charAt(j), 16) >= 0 && s.charAt(j) < 0x80
                    : s.charAt(j) >= '0' && s.charAt(j) <= '9')) {
                j++;
            }
            if (j == digitsStart) {
                return 0;
            }
            String value = numeric(s.substring(digitsStart, j), hex ? 16 : 10);
            int end = j < s.length() && s.charAt(j) == ';' ? j + 1 : j;
            b.append(value, in.originalStart(amp, end), in.originalEnd(amp, end));
            return end - amp;
        }
        int j = i;
        while (j < s.length() && j - i < MAX_NAME && isNameChar(s.charAt(j))) {
            j++;
        }
        if (j == i) {
            return 0;
        }
        boolean semicolon = j < s.length() && s.charAt(j) == ';';
        String name = s.substring(i, j);
        if (semicolon && NAMED.containsKey(name)) {
            int end = j + 1;
            b.append(NAMED.get(name), in.originalStart(amp, end), in.originalEnd(amp, end));
            return end - amp;
        }
        // like Python: the longest legacy name that prefixes the text, the rest stays literal
        for (int x = name.length(); x > 1; x--) {
            String prefix = name.substring(0, x);
            if (LEGACY.containsKey(prefix)) {
                int end = i + x;
                b.append(LEGACY.get(prefix), in.originalStart(amp, end), in.originalEnd(amp, end));
                return end - amp;
            }
        }
        return 0;
    }

    private static boolean isNameChar(char c) {
        return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' && c != ';';
    }

    private static String numeric(String digits, int radix) {
        long v = 0;
        for (int k = 0; k < digits.length(); k++) {
            v = v * radix + Character.digit(digits.charAt(k), radix);
            if (v > 0x10FFFF) {
                return "\uFFFD";
            }
        }
        int cp = (int) v;
        if (cp == 0) {
            return "\uFFFD";
        }
        if (cp == 0x0D) {
            return "\r";
        }
        if (cp >= 0x80 && cp <= 0x9F) {
            return String.valueOf(CP1252_80_9F.charAt(cp - 0x80));
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            return "\uFFFD";
        }
        boolean invalid = (cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || cp == 0x7F
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
        return invalid ? "" : new String(Character.toChars(cp));
    }
}
