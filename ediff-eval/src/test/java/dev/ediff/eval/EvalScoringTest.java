package dev.ediff.eval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalScoringTest {

    static JudgedImage.JudgedObject obj(String size, String colour, String shape, String cell) {
        return new JudgedImage.JudgedObject(PromptSpec.CELLS.indexOf(cell), PromptSpec.SHAPES.indexOf(shape),
                PromptSpec.COLOURS.indexOf(colour), PromptSpec.SIZES.indexOf(size));
    }

    static JudgedImage image(JudgedImage.JudgedObject... objects) {
        List<JudgedImage.JudgedObject> list = new java.util.ArrayList<>(List.of(objects));
        list.sort((a, b) -> Integer.compare(a.cell(), b.cell()));
        return new JudgedImage(list, 0, 0);
    }

    @Test
    void singleObjectWithoutCellMatchesAnywhere() {
        PromptSpec s = CaptionParser.parse("a big red circle");
        assertTrue(Scoring.matches(s, image(obj("large", "red", "circle", "top left"))));
        assertTrue(Scoring.matches(s, image(obj("large", "red", "circle", "bottom right"))));
        assertFalse(Scoring.matches(s, image(obj("small", "red", "circle", "center"))));
        assertFalse(Scoring.matches(s, image(obj("large", "orange", "circle", "center"))));
        assertFalse(Scoring.matches(s, image(obj("large", "red", "square", "center"))));
    }

    @Test
    void statedCellMustBeRight() {
        PromptSpec s = CaptionParser.parse("a big red circle in the center");
        assertTrue(Scoring.matches(s, image(obj("large", "red", "circle", "center"))));
        assertFalse(Scoring.matches(s, image(obj("large", "red", "circle", "left"))));
        Scoring.Result r = Scoring.score(s, image(obj("large", "red", "circle", "left")));
        assertEquals(new Scoring.Result(false, true, 1, 1, 1, 1, 1, 0, 0, 0), r);
    }

    @Test
    void wrongCountFailsEvenWithTheRightObject() {
        PromptSpec s = CaptionParser.parse("a big red circle");
        JudgedImage two = image(obj("large", "red", "circle", "center"), obj("small", "blue", "star", "top"));
        assertFalse(Scoring.matches(s, two));
        Scoring.Result r = Scoring.score(s, two);
        assertFalse(r.countRight());
        // The attributes are still credited to the best-fitting object.
        assertEquals(1, r.shapeRight());
        assertEquals(1, r.colourRight());
        assertEquals(1, r.sizeRight());
        assertFalse(Scoring.matches(s, image()));
        assertEquals(new Scoring.Result(false, false, 1, 0, 0, 0, 0, 0, 0, 0), Scoring.score(s, image()));
    }

    @Test
    void pairNeedsAttributesAndRelationUnderSomeAssignment() {
        PromptSpec s = CaptionParser.parse("a small red star to the left of a big blue square");
        JudgedImage right = image(obj("small", "red", "star", "top left"), obj("large", "blue", "square", "bottom right"));
        assertTrue(Scoring.matches(s, right));
        assertEquals(new Scoring.Result(true, true, 2, 2, 2, 2, 0, 0, 1, 1), Scoring.score(s, right));
        // Found in the other row-major order: the assignment is free.
        JudgedImage swapped = image(obj("large", "blue", "square", "top right"), obj("small", "red", "star", "bottom left"));
        assertTrue(Scoring.matches(s, swapped));
        // Same column: "left" does not hold.
        JudgedImage sameColumn = image(obj("small", "red", "star", "top"), obj("large", "blue", "square", "bottom"));
        assertFalse(Scoring.matches(s, sameColumn));
        Scoring.Result r = Scoring.score(s, sameColumn);
        assertEquals(2, r.shapeRight());
        assertEquals(0, r.relationRight());
        // Relation right, one colour wrong.
        JudgedImage wrongColour = image(obj("small", "red", "star", "left"), obj("large", "green", "square", "right"));
        assertFalse(Scoring.matches(s, wrongColour));
        assertEquals(new Scoring.Result(false, true, 2, 2, 1, 2, 0, 0, 1, 1), Scoring.score(s, wrongColour));
    }

    @Test
    void relationsFollowTheGrid() {
        JudgedImage.JudgedObject topLeft = obj("small", "red", "star", "top left");
        JudgedImage.JudgedObject center = obj("small", "red", "star", "center");
        assertTrue(Scoring.relationHolds("left", topLeft, center));
        assertTrue(Scoring.relationHolds("above", topLeft, center));
        assertTrue(Scoring.relationHolds("right", center, topLeft));
        assertTrue(Scoring.relationHolds("below", center, topLeft));
        assertFalse(Scoring.relationHolds("left", obj("small", "red", "star", "top"), obj("small", "red", "star", "bottom")));
    }

    @Test
    void pairWithOneObjectFoundScoresWhatItCan() {
        PromptSpec s = CaptionParser.parse("a small red star above a big blue square");
        Scoring.Result r = Scoring.score(s, image(obj("large", "blue", "square", "center")));
        assertEquals(new Scoring.Result(false, false, 2, 1, 1, 1, 0, 0, 1, 0), r);
    }

    @Test
    void tallyFormatsARow() {
        Tally t = new Tally();
        t.add(Scoring.score(CaptionParser.parse("a big red circle"), image(obj("large", "red", "circle", "top"))));
        t.add(Scoring.score(CaptionParser.parse("a big red circle"), image()));
        t.addPaint(true);
        t.seconds = 3;
        String row = t.row("x");
        assertEquals("| x | 2 | 50.0% | 50.0% | 50.0% | 50.0% | 50.0% | - | - | - | 100.0% | - | 1.50 |", row);
        assertEquals(Tally.header().lines().findFirst().orElseThrow().split("\\|").length, row.split("\\|").length);
    }
}
