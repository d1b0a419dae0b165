package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * A HuggingFace pre-tokenizer for SentencePiece-style models: Metaspace (spaces become U+2581, which
 * is prepended according to {@code prepend_scheme}, and the text is split before each U+2581),
 * WhitespaceSplit, or a Sequence of those. Pieces keep their alignment to the original text.
 */
final class PreTokenizer {

    /** Where Metaspace prepends its replacement character. */
    enum Prepend { ALWAYS, FIRST, NEVER }

    private interface Step {
        List<AlignedString> apply(AlignedString piece);
    }

    private final List<Step> steps;
    /** The Metaspace replacement character, or 0 if there is no Metaspace step. */
    private final char replacement;
    private final Prepend prepend;

    private PreTokenizer(List<Step> steps, char replacement, Prepend prepend) {
        this.steps = steps;
        this.replacement = replacement;
        this.prepend = prepend;
    }

    char replacement() {
        return replacement;
    }

    Prepend prepend() {
        return prepend;
    }

    static PreTokenizer parse(JsonNode node, String source, String field) {
        List<Step> steps = new ArrayList<>();
        char[] replacement = {0};
        Prepend[] prepend = {Prepend.NEVER};
        collect(node, source, field, steps, replacement, prepend);
        return new PreTokenizer(steps, replacement[0], prepend[0]);
    }

    private static void collect(JsonNode node, String source, String field, List<Step> steps, char[] replacement, Prepend[] prepend) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return;
        }
        String type = node.path("type").asText("");
        switch (type) {
            case "Metaspace": {
                String rep = node.path("replacement").asText("\u2581");
                if (rep.length() != 1) {
                    throw TokenizerFormatException.field(source, field + ".replacement", "expected one character, got '" + rep + "'");
                }
                char r = rep.charAt(0);
                Prepend p;
                if (node.has("prepend_scheme")) {
                    String scheme = node.get("prepend_scheme").asText();
                    switch (scheme) {
                        case "always" -> p = Prepend.ALWAYS;
                        case "first" -> p = Prepend.FIRST;
                        case "never" -> p = Prepend.NEVER;
                        default -> throw TokenizerFormatException.field(source, field + ".prepend_scheme",
                                "is '" + scheme + "'; expected always, first or never");
                    }
                } else {
                    // files written before prepend_scheme existed
                    p = node.path("add_prefix_space").asBoolean(true) ? Prepend.ALWAYS : Prepend.NEVER;
                }
                boolean split = node.path("split").asBoolean(true);
                replacement[0] = r;
                prepend[0] = p;
                steps.add(piece -> metaspace(piece, r, p, split));
                return;
            }
            case "WhitespaceSplit":
                steps.add(PreTokenizer::whitespaceSplit);
                return;
            case "Sequence": {
                JsonNode list = node.path("pretokenizers");
                if (!list.isArray()) {
                    throw TokenizerFormatException.field(source, field + ".pretokenizers", "expected an array");
                }
                for (int i = 0; i < list.size(); i++) {
                    collect(list.get(i), source, field + ".pretokenizers[" + i + "]", steps, replacement, prepend);
                }
                return;
            }
            default:
                throw TokenizerFormatException.field(source, field + ".type", "'" + type
                        + "' is not supported for a Unigram model; expected Metaspace, WhitespaceSplit or a Sequence of them");
        }
    }

    List<AlignedString> apply(AlignedString text) {
        List<AlignedString> pieces = List.of(text);
        for (Step step : steps) {
            List<AlignedString> next = new ArrayList<>();
            for (AlignedString p : pieces) {
                next.addAll(step.apply(p));
            }
            pieces = next;
        }
        return pieces;
    }

    private static List<AlignedString> metaspace(AlignedString in, char r, Prepend prepend, boolean split) {
        String s = in.text();
        AlignedString.Builder b = in.builder();
        // "first" means: only for the piece that starts the original text
        boolean prependHere = prepend == Prepend.ALWAYS || (prepend == Prepend.FIRST && in.originalStart(0, 0) == 0);
        if (prependHere && !(s.startsWith(" ") || (!s.isEmpty() && s.charAt(0) == r))) {
            int at = in.originalStart(0, 0);
            b.append(r, at, at);
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == ' ') {
                b.append(r, in.originalStart(i, i + 1), in.originalEnd(i, i + 1));
            } else {
                b.copy(in, i, i + 1);
            }
        }
        AlignedString replaced = b.build();
        if (!split) {
            return List.of(replaced);
        }
        // split before each replacement character; it stays at the start of the next piece
        List<AlignedString> out = new ArrayList<>();
        String t = replaced.text();
        int start = 0;
        for (int i = 1; i <= t.length(); i++) {
            if (i == t.length() || t.charAt(i) == r) {
                if (i > start) {
                    out.add(replaced.substring(start, i));
                }
                start = i;
            }
        }
        return out;
    }

    private static List<AlignedString> whitespaceSplit(AlignedString in) {
        List<AlignedString> out = new ArrayList<>();
        String s = in.text();
        int i = 0;
        while (i < s.length()) {
            while (i < s.length() && CharClasses.isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            int start = i;
            while (i < s.length() && !CharClasses.isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            if (i > start) {
                out.add(in.substring(start, i));
            }
        }
        return out;
    }
}
