package dev.ediff.core.text;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The layout planner against the caption grammar of the miniature model's training data
 * ({@code tools/mini/mini/data.py}: {@code PAIR_TEMPLATES}, {@code REL_PHRASES}, {@code CELL_PHRASES},
 * {@code SINGLE_TEMPLATES}, {@code SINGLE_POS_TEMPLATES}, copied here since the build has no Python),
 * and the validation of a layout.
 */
class PromptLayoutTest {

    // ---- tools/mini/mini/data.py, as of [mini-3]
    static final List<String> SHAPES = List.of("circle", "square", "triangle", "diamond", "star");
    static final List<String> COLOURS = List.of("red", "orange", "yellow", "green", "blue", "purple", "white");
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
    static final Map<String, List<String>> REL_PHRASES = orderedMap(
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
    // ----

    /** The spec's placements: cell of A, cell of B (row-major 3x3). */
    static final Map<String, List<Integer>> PLACEMENTS = orderedMap("left", List.of(3, 5), "right", List.of(5, 3),
            "above", List.of(1, 7), "below", List.of(7, 1));

    /** The layout block of the miniature model's manifest (layout-spec section 1). */
    static PromptLayout mini() {
        List<String> modifiers = new ArrayList<>(List.of("small", "little", "large", "big"));
        modifiers.addAll(COLOURS);
        return new PromptLayout(3, SHAPES, modifiers, CELL_PHRASES, REL_PHRASES, PLACEMENTS);
    }

    @SafeVarargs
    static <V> Map<String, V> orderedMap(Object... kv) {
        Map<String, V> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked") V v = (V) kv[i + 1];
            m.put((String) kv[i], v);
        }
        return m;
    }

    static String fill(String template, String a, String r, String b) {
        return template.replace("{a}", a).replace("{r}", r).replace("{b}", b);
    }

    /** A few object phrases of every size word, colour and shape (one per shape, rotating the rest). */
    static List<String> objects() {
        List<String> out = new ArrayList<>();
        for (int s = 0; s < SHAPES.size(); s++) {
            for (int c = 0; c < COLOURS.size(); c += 2) {
                List<String> size = SIZE_WORDS.get((s + c) % 2);
                out.add("a " + size.get((s + c / 2) % 2) + " " + COLOURS.get((c + s) % COLOURS.size()) + " " + SHAPES.get(s));
            }
        }
        return out;
    }

    @Test
    void everyPairTemplateAndRelationPhraseGivesBothObjectsTheirPlacement() {
        PromptLayout layout = mini();
        List<String> objects = objects();
        int checked = 0;
        for (String template : PAIR_TEMPLATES) {
            for (Map.Entry<String, List<String>> rel : REL_PHRASES.entrySet()) {
                List<Integer> place = PLACEMENTS.get(rel.getKey());
                for (String phrase : rel.getValue()) {
                    for (int i = 0; i < objects.size(); i++) {
                        String a = objects.get(i);
                        String b = objects.get((i * 7 + 3) % objects.size());
                        String caption = fill(template, a, phrase, b);
                        assertEquals(List.of(a + " " + CELL_PHRASES.get(place.get(0)).get(0),
                                        b + " " + CELL_PHRASES.get(place.get(1)).get(0)), layout.phrases(caption), caption);
                        checked++;
                    }
                }
            }
        }
        assertEquals(6 * 12 * objects.size(), checked);
    }

    @Test
    void theSpecExamples() {
        PromptLayout layout = mini();
        assertEquals(List.of("a small red circle at the top", "a large blue square at the bottom"),
                layout.phrases("a small red circle above a large blue square"));
        assertEquals(List.of("a big red triangle at the bottom", "a small orange circle at the top"),
                layout.phrases("there is a big red triangle beneath a small orange circle"));
        assertEquals(List.of("a little green star on the left", "a large white square on the right"),
                layout.phrases("a picture of a little green star to the left of a large white square"));
        assertEquals(List.of("a small red circle on the left", "a large blue square on the right"),
                layout.phrases("a small red circle on the left of a large blue square"),
                "'on the left of' is the relation left, not the cell 'on the left'");
    }

    @Test
    void oneObjectPromptsComeBackWhole() {
        PromptLayout layout = mini();
        for (String o : objects()) {
            for (String t : SINGLE_TEMPLATES) {
                String caption = t.replace("{o}", o);
                assertEquals(List.of(caption), layout.phrases(caption));
            }
            for (String t : SINGLE_POS_TEMPLATES) {
                for (List<String> cell : CELL_PHRASES) {
                    String caption = t.replace("{o}", o).replace("{p}", cell.get(cell.size() - 1));
                    assertEquals(List.of(caption), layout.phrases(caption));
                }
            }
        }
    }

    @Test
    void unparseablePromptsComeBackWhole() {
        PromptLayout layout = mini();
        for (String p : List.of("", "   ", "A photo of a cat above a dog", "three circles", "circles and squares",
                "a red circle, a blue square and a green star", "a circle above a square above a star",
                "a small red", "a red circles above a blue squares")) {
            assertEquals(List.of(p), layout.phrases(p), p);
        }
    }

    @Test
    void longerCellPhrasesWinAndCellsBelongToThePrecedingMention() {
        PromptLayout layout = mini();
        assertEquals(List.of("a red circle in the top left corner", "a blue square at the bottom"),
                layout.phrases("a red circle at the top left, a blue square at the bottom"),
                "'at the top left' beats 'at the top'");
        assertEquals(List.of("a red circle on the left", "a blue square in the center"),
                layout.phrases("a red circle in the middle left and a blue square in the middle"),
                "'in the middle left' beats 'in the middle'");
        assertEquals(List.of("a red circle in the bottom right corner", "a blue square"),
                layout.phrases("in the lower right, a red circle and a blue square"),
                "a cell before the first mention belongs to the first mention");
        assertEquals(List.of("a red circle at the top", "a blue square in the center"),
                layout.phrases("a red circle at the top and a blue square in the middle, at the bottom"),
                "a mention keeps its first cell");
    }

    @Test
    void statedCellsWinOverTheRelationsPlacement() {
        PromptLayout layout = mini();
        assertEquals(List.of("a red circle in the top left corner", "a blue square"),
                layout.phrases("a red circle at the top left above a blue square"),
                "a stated cell is kept, the other mention gets none");
        assertEquals(List.of("a red circle", "a blue square in the bottom right corner"),
                layout.phrases("a red circle above a blue square in the lower right"));
        assertEquals(List.of("a red circle", "a blue square"), layout.phrases("a red circle and a blue square"),
                "no relation and no cell: the mentions alone");
        assertEquals(List.of("a red circle", "a blue square"), layout.phrases("above all, a red circle and a blue square"),
                "a relation phrase counts only between the two mentions");
    }

    @Test
    void normalisesCaseSpacesAndPunctuationKeepingArticlesAsWritten() {
        PromptLayout layout = mini();
        assertEquals(List.of("the small red circle at the top", "big blue square at the bottom"),
                layout.phrases("  The SMALL  red\tcircle... ABOVE;big blue square!  "));
        assertEquals(List.of("an orange star on the right", "a diamond on the left"),
                layout.phrases("an orange star, right of a diamond"));
    }

    @Test
    void badLayoutsAreRefusedNamingTheField() {
        List<String> mods = mini().modifiers();
        assertContains(bad(() -> new PromptLayout(0, SHAPES, mods, CELL_PHRASES, REL_PHRASES, PLACEMENTS)), "grid", "1..16");
        assertContains(bad(() -> new PromptLayout(3, List.of(), mods, CELL_PHRASES, REL_PHRASES, PLACEMENTS)), "nouns");
        assertContains(bad(() -> new PromptLayout(3, List.of("Circle"), mods, CELL_PHRASES, REL_PHRASES, PLACEMENTS)),
                "nouns[0]", "lower-case", "'Circle'");
        assertContains(bad(() -> new PromptLayout(3, List.of("red"), mods, CELL_PHRASES, REL_PHRASES, PLACEMENTS)),
                "modifiers[", "'red' is also nouns[0]");
        assertContains(bad(() -> new PromptLayout(3, List.of("the"), mods, CELL_PHRASES, REL_PHRASES, PLACEMENTS)),
                "nouns[0]", "article");
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, CELL_PHRASES.subList(0, 8), REL_PHRASES, PLACEMENTS)),
                "cells has 8 lists", "needs 9");
        List<List<String>> emptyCell = new ArrayList<>(CELL_PHRASES);
        emptyCell.set(4, List.of());
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, emptyCell, REL_PHRASES, PLACEMENTS)), "cells[4]", "non-empty");
        List<List<String>> upper = new ArrayList<>(CELL_PHRASES);
        upper.set(2, List.of("In the top right corner"));
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, upper, REL_PHRASES, PLACEMENTS)), "cells[2][0]",
                "lower-case");
        List<List<String>> blank = new ArrayList<>(CELL_PHRASES);
        blank.set(2, List.of(""));
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, blank, REL_PHRASES, PLACEMENTS)), "cells[2][0]");
        List<List<String>> twice = new ArrayList<>(CELL_PHRASES);
        twice.set(5, List.of("at the top"));
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, twice, REL_PHRASES, PLACEMENTS)), "cells[5][0]",
                "also cells[1][0]");
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, CELL_PHRASES, REL_PHRASES,
                orderedMap("near", List.of(0, 1)))), "placements.near", "names no relation");
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, CELL_PHRASES, REL_PHRASES,
                orderedMap("left", List.of(3, 9)))), "placements.left[1] is 9", "0..8");
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, CELL_PHRASES, REL_PHRASES,
                orderedMap("left", List.of(4, 4)))), "placements.left", "must differ");
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, CELL_PHRASES, REL_PHRASES,
                orderedMap("left", List.of(4)))), "placements.left", "two cells");
        assertContains(bad(() -> new PromptLayout(3, SHAPES, mods, CELL_PHRASES,
                orderedMap("above", List.of()), Map.of())), "relations.above", "non-empty");
    }

    private static String bad(org.junit.jupiter.api.function.Executable make) {
        return assertThrows(IllegalArgumentException.class, make).getMessage();
    }
}
