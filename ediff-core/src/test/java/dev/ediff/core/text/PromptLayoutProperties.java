package dev.ediff.core.text;

import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.ediff.core.text.PromptLayoutTest.CELL_PHRASES;
import static dev.ediff.core.text.PromptLayoutTest.COLOURS;
import static dev.ediff.core.text.PromptLayoutTest.PAIR_TEMPLATES;
import static dev.ediff.core.text.PromptLayoutTest.PLACEMENTS;
import static dev.ediff.core.text.PromptLayoutTest.REL_PHRASES;
import static dev.ediff.core.text.PromptLayoutTest.SHAPES;
import static dev.ediff.core.text.PromptLayoutTest.SIZE_WORDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

/**
 * Captions drawn from the training grammar ({@code tools/mini/mini/data.py}'s {@code make_caption}
 * for two objects, also with a stated cell per object as {@code binding_probe} writes them), in
 * any letter case and spacing, parse back to their two objects and their relation's cells.
 */
class PromptLayoutProperties {

    /** An object phrase as {@code _obj_phrase} writes it: "a SIZE COLOUR SHAPE". */
    record Obj(String text) {
    }

    static Gen<Obj> objects() {
        return integers().between(0, 1).zip(integers().between(0, 1), integers().between(0, COLOURS.size() - 1),
                integers().between(0, SHAPES.size() - 1), (size, word, colour, shape) ->
                        new Obj("a " + SIZE_WORDS.get(size).get(word) + " " + COLOURS.get(colour) + " " + SHAPES.get(shape)));
    }

    /** The caption with its letters' case flipped where {@code mask} has a bit set, and single spaces doubled at random. */
    static String scramble(String caption, long mask) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < caption.length(); i++) {
            char c = caption.charAt(i);
            long bit = 1L << (i % 61);
            b.append((mask & bit) != 0 ? Character.toUpperCase(c) : c);
            if (c == ' ' && (mask & (bit << 1)) != 0) {
                b.append(' ');
            }
        }
        return b.toString();
    }

    @Test
    void relationCaptionsParseBackToTheirObjectsAndPlacement() {
        List<String> relations = new ArrayList<>(REL_PHRASES.keySet());
        PromptLayout layout = PromptLayoutTest.mini();
        qt().withExamples(2000).forAll(objects(), objects(), integers().between(0, PAIR_TEMPLATES.size() - 1),
                        integers().between(0, relations.size() * 3 - 1))
                .checkAssert((a, b, t, r) -> {
                    String rel = relations.get(r / 3);
                    String caption = PromptLayoutTest.fill(PAIR_TEMPLATES.get(t), a.text(), REL_PHRASES.get(rel).get(r % 3),
                            b.text());
                    List<Integer> cells = PLACEMENTS.get(rel);
                    List<String> expected = List.of(a.text() + " " + CELL_PHRASES.get(cells.get(0)).get(0),
                            b.text() + " " + CELL_PHRASES.get(cells.get(1)).get(0));
                    assertEquals(expected, layout.phrases(caption), caption);
                    long mask = caption.hashCode() * 0x9E3779B97F4A7C15L;
                    assertEquals(expected, layout.phrases(scramble(caption, mask)), scramble(caption, mask));
                });
    }

    @Test
    void twoCellCaptionsParseBackToTheirObjectsAndCells() {
        PromptLayout layout = PromptLayoutTest.mini();
        qt().withExamples(2000).forAll(objects(), objects(), integers().between(0, 8 * 9 - 1),
                        integers().between(0, 8))
                .checkAssert((a, b, cellPair, variants) -> {
                    int ca = cellPair / 8;
                    int cb = cellPair % 8 >= ca ? cellPair % 8 + 1 : cellPair % 8; // two distinct cells
                    List<String> pa = CELL_PHRASES.get(ca);
                    List<String> pb = CELL_PHRASES.get(cb);
                    String caption = a.text() + " " + pa.get(variants % pa.size()) + ", " + b.text() + " "
                            + pb.get((variants / 3) % pb.size());
                    List<String> expected = List.of(a.text() + " " + pa.get(0), b.text() + " " + pb.get(0));
                    assertEquals(expected, layout.phrases(caption), caption);
                    assertEquals(expected, layout.phrases(caption.toUpperCase(Locale.ROOT)), caption);
                });
    }
}
