package dev.ediff.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the spec out of a caption of the miniature eDiff-I's grammar ({@code tools/mini/mini/data.py}:
 * {@code make_caption}), i.e. exactly what the caption states. The grammar: an object is
 * {@code a SIZE COLOUR SHAPE} with sizes small/little and large/big; one object appears in one of
 * the templates {@code {o}}, {@code a picture of {o}}, {@code an image of {o}}, {@code there is {o}},
 * {@code {o} on a background}, or with a position {@code {o} {p}}, {@code a picture of {o} {p}},
 * {@code there is {o} {p}}, {@code {p}, {o}}, {@code an image with {o} {p}}, {@code {o} placed {p}};
 * two objects in {@code {a} {r} {b}}, {@code {a} is {r} {b}}, {@code there is {a} {r} {b}},
 * {@code a picture of {a} {r} {b}}, {@code an image of {a} {r} {b}}, {@code {a} {r} {b}, two shapes}.
 * Case and runs of whitespace are ignored; anything else is refused.
 */
public final class CaptionParser {

    static final List<List<String>> SIZE_WORDS = List.of(List.of("small", "little"), List.of("large", "big"));
    static final List<List<String>> CELL_PHRASES = List.of(
            List.of("in the top left corner", "at the top left", "in the upper left"),
            List.of("at the top", "at the top center", "in the upper middle"),
            List.of("in the top right corner", "at the top right", "in the upper right"),
            List.of("on the left", "at the left side", "in the middle left"),
            List.of("in the center", "in the middle"),
            List.of("on the right", "at the right side", "in the middle right"),
            List.of("in the bottom left corner", "at the bottom left", "in the lower left"),
            List.of("at the bottom", "at the bottom center", "in the lower middle"),
            List.of("in the bottom right corner", "at the bottom right", "in the lower right"));
    static final Map<String, List<String>> REL_PHRASES = Map.of(
            "left", List.of("to the left of", "left of", "on the left of"),
            "right", List.of("to the right of", "right of", "on the right of"),
            "above", List.of("above", "over", "on top of"),
            "below", List.of("below", "under", "beneath"));
    static final List<String> SINGLE_TEMPLATES = List.of("{o}", "a picture of {o}", "an image of {o}", "there is {o}",
            "{o} on a background");
    static final List<String> SINGLE_POS_TEMPLATES = List.of("{o} {p}", "a picture of {o} {p}", "there is {o} {p}",
            "{p}, {o}", "an image with {o} {p}", "{o} placed {p}");
    static final List<String> PAIR_TEMPLATES = List.of("{a} {r} {b}", "{a} is {r} {b}", "there is {a} {r} {b}",
            "a picture of {a} {r} {b}", "an image of {a} {r} {b}", "{a} {r} {b}, two shapes");

    private static final Map<String, Integer> SIZE_OF = new LinkedHashMap<>();
    private static final Map<String, Integer> CELL_OF = new LinkedHashMap<>();
    private static final Map<String, String> RELATION_OF = new LinkedHashMap<>();
    private static final Set<String> VOCABULARY = new LinkedHashSet<>();
    private static final List<Pattern> PATTERNS = new ArrayList<>();

    static {
        for (int s = 0; s < SIZE_WORDS.size(); s++) {
            for (String w : SIZE_WORDS.get(s)) {
                SIZE_OF.put(w, s);
            }
        }
        for (int c = 0; c < CELL_PHRASES.size(); c++) {
            for (String p : CELL_PHRASES.get(c)) {
                CELL_OF.put(p, c);
            }
        }
        for (String rel : PromptSpec.RELATIONS) {
            for (String p : REL_PHRASES.get(rel)) {
                RELATION_OF.put(p, rel);
            }
        }
        String obj = "a (" + alternatives(SIZE_OF.keySet()) + ") (" + alternatives(PromptSpec.COLOURS) + ") ("
                + alternatives(PromptSpec.SHAPES) + ")";
        String cell = "(" + alternatives(CELL_OF.keySet()) + ")";
        String rel = "(" + alternatives(RELATION_OF.keySet()) + ")";
        List<String> all = new ArrayList<>();
        all.addAll(SINGLE_TEMPLATES);
        all.addAll(SINGLE_POS_TEMPLATES);
        all.addAll(PAIR_TEMPLATES);
        for (String t : all) {
            // Named groups so one code path reads every template whatever the order of its slots.
            StringBuilder re = new StringBuilder();
            Matcher m = Pattern.compile("\\{([oparb])}").matcher(t);
            int last = 0;
            while (m.find()) {
                re.append(Pattern.quote(t.substring(last, m.start())));
                String slot = m.group(1);
                re.append("(?<").append(slot).append(">");
                re.append(switch (slot) {
                    case "o", "a", "b" -> obj;
                    case "p" -> cell;
                    default -> rel;
                });
                re.append(")");
                last = m.end();
            }
            re.append(Pattern.quote(t.substring(last)));
            PATTERNS.add(Pattern.compile(re.toString()));
            for (String w : t.replaceAll("\\{[oparb]}", " ").replace(",", " ").split(" ")) {
                if (!w.isBlank()) {
                    VOCABULARY.add(w);
                }
            }
        }
        List<String> words = new ArrayList<>(List.of("a"));
        words.addAll(SIZE_OF.keySet());
        words.addAll(PromptSpec.COLOURS);
        words.addAll(PromptSpec.SHAPES);
        CELL_OF.keySet().forEach(p -> words.addAll(List.of(p.split(" "))));
        RELATION_OF.keySet().forEach(p -> words.addAll(List.of(p.split(" "))));
        VOCABULARY.addAll(words);
    }

    private CaptionParser() {
    }

    private static String alternatives(Iterable<String> words) {
        List<String> quoted = new ArrayList<>();
        for (String w : words) {
            quoted.add(Pattern.quote(w));
        }
        // Longest first: only a readability choice, since every template is matched as a whole.
        quoted.sort((x, y) -> Integer.compare(y.length(), x.length()));
        return String.join("|", quoted);
    }

    /** The caption with case folded and whitespace runs collapsed, as the parser reads it. */
    static String normalize(String caption) {
        return caption.toLowerCase(Locale.ROOT).trim().replaceAll("\\s+", " ");
    }

    /**
     * The spec a caption states.
     *
     * @throws IllegalArgumentException when the caption is not a sentence of the grammar, naming
     *                                  the first unknown word if there is one
     */
    public static PromptSpec parse(String caption) {
        String text = normalize(caption);
        for (Pattern p : PATTERNS) {
            Matcher m = p.matcher(text);
            if (!m.matches()) {
                continue;
            }
            Set<String> slots = slots(p);
            if (slots.contains("a")) {
                return new PromptSpec(List.of(object(p, m, "a", null), object(p, m, "b", null)),
                        RELATION_OF.get(m.group("r")));
            }
            String cell = slots.contains("p") ? PromptSpec.CELLS.get(CELL_OF.get(m.group("p"))) : null;
            return new PromptSpec(List.of(object(p, m, "o", cell)), null);
        }
        String unknown = null;
        for (String w : text.replace(",", " ").split(" ")) {
            if (!w.isEmpty() && !VOCABULARY.contains(w)) {
                unknown = w;
                break;
            }
        }
        throw new IllegalArgumentException("'" + caption + "' is not a caption of the mini grammar"
                + (unknown != null ? " (unknown word '" + unknown + "')" : "")
                + "; expected e.g. 'a small red circle in the center' or 'a big blue square left of a little white star'"
                + " (or state the spec explicitly in a JSON line)");
    }

    private static Set<String> slots(Pattern p) {
        Set<String> s = new LinkedHashSet<>();
        for (String slot : List.of("o", "p", "a", "r", "b")) {
            if (p.pattern().contains("(?<" + slot + ">")) {
                s.add(slot);
            }
        }
        return s;
    }

    private static PromptSpec.ObjectSpec object(Pattern p, Matcher m, String slot, String cell) {
        // The object's words are groups inside the named slot group: re-match the slot text alone.
        Matcher o = OBJECT.matcher(m.group(slot));
        if (!o.matches()) {
            throw new IllegalStateException("object slot '" + m.group(slot) + "' of " + p);
        }
        return new PromptSpec.ObjectSpec(o.group(3), o.group(2), PromptSpec.SIZES.get(SIZE_OF.get(o.group(1))), cell);
    }

    private static final Pattern OBJECT = Pattern.compile("a (" + alternatives(SIZE_OF.keySet()) + ") ("
            + alternatives(PromptSpec.COLOURS) + ") (" + alternatives(PromptSpec.SHAPES) + ")");
}
