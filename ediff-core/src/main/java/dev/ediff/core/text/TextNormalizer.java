package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A HuggingFace normalizer step, applied with alignment kept. {@link #parse} understands the common
 * ones: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend, Sequence, and Precompiled.
 *
 * <p>Precompiled (SentencePiece's compiled {@code nmt_nfkc} character map) is not decoded from its
 * blob; it is treated as what it was compiled from: NFKC, plus SentencePiece's NMT rules (C0/C1
 * control characters removed; tab, CR, LF, form feed, zero-width spaces, BOM, U+2581 and U+FFFD
 * become a space). Unicode normalization is applied per base character with its combining marks,
 * so that offsets stay exact; that only differs from whole-string normalization for Hangul jamo
 * sequences and other compositions across base characters.
 */
@FunctionalInterface
interface TextNormalizer {

    AlignedString apply(AlignedString in);

    static TextNormalizer identity() {
        return in -> in;
    }

    /** The normalizer described by {@code node} (null or JSON null: none). */
    static TextNormalizer parse(JsonNode node, String source, String field) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return identity();
        }
        String type = node.path("type").asText("");
        switch (type) {
            case "NFC":
                return unicode(Normalizer.Form.NFC);
            case "NFD":
                return unicode(Normalizer.Form.NFD);
            case "NFKC":
                return unicode(Normalizer.Form.NFKC);
            case "NFKD":
                return unicode(Normalizer.Form.NFKD);
            case "Precompiled":
                return in -> unicode(Normalizer.Form.NFKC).apply(nmt(in));
            case "Lowercase":
                return in -> CharClasses.lowerCase(in, false);
            case "Strip":
                return strip(node.path("strip_left").asBoolean(true), node.path("strip_right").asBoolean(true));
            case "Replace":
                return replace(node, source, field);
            case "Prepend": {
                String prepend = node.path("prepend").asText("");
                return in -> {
                    if (in.length() == 0) {
                        return in;
                    }
                    int at = in.originalStart(0, 0);
                    return in.builder().append(prepend, at, at).copy(in, 0, in.length()).build();
                };
            }
            case "Sequence": {
                List<TextNormalizer> steps = new ArrayList<>();
                JsonNode list = node.path("normalizers");
                if (!list.isArray()) {
                    throw TokenizerFormatException.field(source, field + ".normalizers", "expected an array");
                }
                for (int i = 0; i < list.size(); i++) {
                    steps.add(parse(list.get(i), source, field + ".normalizers[" + i + "]"));
                }
                return in -> {
                    AlignedString s = in;
                    for (TextNormalizer step : steps) {
                        s = step.apply(s);
                    }
                    return s;
                };
            }
            default:
                throw TokenizerFormatException.field(source, field + ".type", "'" + type + "' is not supported; expected one of "
                        + "NFC, NFD, NFKC, NFKD, Precompiled, Lowercase, Strip, Replace, Prepend, Sequence");
        }
    }

    private static TextNormalizer unicode(Normalizer.Form form) {
        return in -> {
            String s = in.text();
            if (Normalizer.isNormalized(s, form)) {
                return in;
            }
            AlignedString.Builder b = in.builder();
            int i = 0;
            while (i < s.length()) {
                int start = i;
                i += Character.charCount(s.codePointAt(i));
                while (i < s.length() && isMark(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                String segment = s.substring(start, i);
                String normalized = Normalizer.normalize(segment, form);
                if (normalized.equals(segment)) {
                    b.copy(in, start, i);
                } else {
                    b.append(normalized, in.originalStart(start, i), in.originalEnd(start, i));
                }
            }
            return b.build();
        };
    }

    private static boolean isMark(int cp) {
        int t = Character.getType(cp);
        return t == Character.NON_SPACING_MARK || t == Character.ENCLOSING_MARK || t == Character.COMBINING_SPACING_MARK;
    }

    /** SentencePiece's NMT rules on top of NFKC (see the class comment). */
    private static AlignedString nmt(AlignedString in) {
        String s = in.text();
        AlignedString.Builder b = in.builder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean remove = (c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                    || c == 0x8F || c == 0x9F;
            boolean space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 || (c >= 0x200B && c <= 0x200F)
                    || c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
            if (space) {
                b.append(' ', in.originalStart(i, i + 1), in.originalEnd(i, i + 1));
            } else if (!remove) {
                b.copy(in, i, i + 1);
            }
        }
        return b.build();
    }

    private static TextNormalizer strip(boolean left, boolean right) {
        return in -> {
            String s = in.text();
            int from = 0;
            int to = s.length();
            while (left && from < to && CharClasses.isSpace(s.codePointAt(from))) {
                from += Character.charCount(s.codePointAt(from));
            }
            while (right && to > from && CharClasses.isSpace(s.codePointBefore(to))) {
                to -= Character.charCount(s.codePointBefore(to));
            }
            return from == 0 && to == s.length() ? in : in.substring(from, to);
        };
    }

    private static TextNormalizer replace(JsonNode node, String source, String field) {
        JsonNode pattern = node.path("pattern");
        Pattern p;
        if (pattern.path("String").isTextual()) {
            p = Pattern.compile(Pattern.quote(pattern.get("String").asText()));
        } else if (pattern.path("Regex").isTextual()) {
            try {
                p = Pattern.compile(pattern.get("Regex").asText());
            } catch (RuntimeException e) {
                throw TokenizerFormatException.field(source, field + ".pattern.Regex", "not a usable regular expression: " + e.getMessage());
            }
        } else {
            throw TokenizerFormatException.field(source, field + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
        }
        String content = node.path("content").asText("");
        return in -> {
            Matcher m = p.matcher(in.text());
            if (!m.find()) {
                return in;
            }
            AlignedString.Builder b = in.builder();
            int last = 0;
            do {
                if (m.end() == m.start()) {
                    continue;
                }
                b.copy(in, last, m.start());
                b.append(content, in.originalStart(m.start(), m.end()), in.originalEnd(m.start(), m.end()));
                last = m.end();
            } while (m.find());
            b.copy(in, last, in.length());
            return b.build();
        };
    }
}
