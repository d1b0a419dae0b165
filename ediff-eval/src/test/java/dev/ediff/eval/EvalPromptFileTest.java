package dev.ediff.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalPromptFileTest {

    @TempDir
    Path dir;

    @Test
    void plainLinesWithAndWithoutSeeds() {
        List<PromptFile.Entry> e = PromptFile.parse(List.of("# a comment", "", "a big red circle", "a small blue star on the left\t42"),
                "p.txt", dir);
        assertEquals(2, e.size());
        assertEquals(3, e.get(0).line());
        assertEquals(PromptFile.SEED_BASE + 3, e.get(0).seed());
        assertEquals("a big red circle", e.get(0).prompt());
        assertEquals(42, e.get(1).seed());
        assertEquals("left", e.get(1).spec().objects().get(0).cell());
        assertNull(e.get(1).paint());
        assertNull(e.get(1).style());
    }

    @Test
    void heldOutLinesAreValidPromptLines() throws Exception {
        List<PromptFile.Entry> e = PromptFile.read(CaptionParserTest.HELDOUT);
        assertEquals(300, e.size());
        assertEquals(1000, e.get(0).seed());
        assertEquals("bottom right", e.get(0).spec().objects().get(0).cell());
    }

    @Test
    void jsonLinesWithSpecPaintAndStyle() throws Exception {
        Files.writeString(dir.resolve("ref.png"), "not read here");
        String line = "{\"prompt\": \"a big red circle\", \"seed\": 7, \"style\": \"ref.png\","
                + " \"paint\": {\"phrase\": \"red circle\", \"box\": [0, 0, 0.5, 0.5], \"shape\": \"ellipse\", \"weight\": 0.8},"
                + " \"spec\": {\"objects\": [{\"shape\": \"circle\", \"colour\": \"red\", \"size\": \"large\", \"cell\": \"top left\"}],"
                + " \"relation\": null}}";
        PromptFile.Entry e = PromptFile.parse(List.of(line), "p.jsonl", dir).get(0);
        assertEquals(7, e.seed());
        assertEquals("top left", e.spec().objects().get(0).cell(), "the given spec wins over the parsed one");
        assertEquals(dir.resolve("ref.png"), e.style());
        assertEquals("red circle", e.paint().phrase());
        assertTrue(e.paint().ellipse());
        assertEquals(0.8, e.paint().weight());
        PromptFile.Entry d = PromptFile.parse(List.of("{\"prompt\": \"a big red circle\","
                + " \"paint\": {\"phrase\": \"big red circle\", \"box\": [0, 0, 1, 0.34]}}"), "p.jsonl", dir).get(0);
        assertEquals(PromptFile.DEFAULT_PAINT_WEIGHT, d.paint().weight());
        assertTrue(!d.paint().ellipse());
        assertNull(d.spec().objects().get(0).cell(), "spec parsed from the prompt");
    }

    @Test
    void paintCellsInsideNeedHalfCoverage() {
        PromptFile.Paint topRow = new PromptFile.Paint("x", new double[] {0, 0, 1, 1 / 3.0}, false, 1);
        assertArrayEquals(new boolean[] {true, true, true, false, false, false, false, false, false}, topRow.cellsInside());
        PromptFile.Paint leftTwoThirds = new PromptFile.Paint("x", new double[] {0, 0, 0.5, 1}, false, 1);
        // Column 1 is covered for exactly half: inside.
        assertArrayEquals(new boolean[] {true, true, false, true, true, false, true, true, false}, leftTwoThirds.cellsInside());
        PromptFile.Paint centreEllipse = new PromptFile.Paint("x", new double[] {1 / 3.0, 1 / 3.0, 2 / 3.0, 2 / 3.0}, true, 1);
        // The inscribed ellipse covers pi/4 of the centre cell.
        assertArrayEquals(new boolean[] {false, false, false, false, true, false, false, false, false},
                centreEllipse.cellsInside());
    }

    @Test
    void errorsNameTheLine() {
        assertLineError(List.of("a big red circle", "a big red hexagon"), "p.txt:2:", "hexagon");
        assertLineError(List.of("", "a big red circle\tseven"), "p.txt:2:", "seed");
        assertLineError(List.of("{\"prompt\": \"a big red circle\""), "p.txt:1:", "JSON");
        assertLineError(List.of("#", "{\"seed\": 3}"), "p.txt:2:", "prompt");
        assertLineError(List.of("{\"prompt\": \"a big red circle\", \"seed\": 1.5}"), "p.txt:1:", "seed");
        assertLineError(List.of("{\"prompt\": \"a big red circle\", \"paint\": {\"phrase\": \"blue\", \"box\": [0,0,1,1]}}"),
                "p.txt:1:", "whole words");
        assertLineError(List.of("{\"prompt\": \"a big red circle\", \"paint\": {\"phrase\": \"red\", \"box\": [0,0,2,1]}}"),
                "p.txt:1:", "[0, 1]");
        assertLineError(List.of("{\"prompt\": \"a big red circle\", \"paint\": {\"phrase\": \"red\", \"box\": [0,0,1]}}"),
                "p.txt:1:", "box");
        assertLineError(List.of("{\"prompt\": \"a big red circle\", \"style\": \"missing.png\"}"), "p.txt:1:", "does not exist");
        assertLineError(List.of("{\"prompt\": \"a hexagon\", \"spec\": {\"objects\": [{\"shape\": \"hexagon\","
                + " \"colour\": \"red\", \"size\": \"large\"}]}}"), "p.txt:1:", "hexagon");
        assertLineError(List.of("{\"prompt\": \"x\", \"spec\": {\"objects\": [{\"shape\": \"circle\", \"colour\": \"red\","
                + " \"size\": \"large\"}, {\"shape\": \"circle\", \"colour\": \"red\", \"size\": \"large\"}]}}"), "p.txt:1:", "relation");
        assertLineError(List.of("{\"prompt\": \"a big red circle\", \"Seed\": 3}"), "p.txt:1:", "did you mean");
    }

    @Test
    void anEmptyFileIsAnError() throws Exception {
        Path f = dir.resolve("empty.txt");
        Files.writeString(f, "# nothing\n\n");
        EvalException e = assertThrows(EvalException.class, () -> PromptFile.read(f));
        assertTrue(e.getMessage().contains("no prompt"), e.getMessage());
        assertThrows(EvalException.class, () -> PromptFile.read(dir.resolve("missing.txt")));
    }

    private void assertLineError(List<String> lines, String where, String says) {
        EvalException e = assertThrows(EvalException.class, () -> PromptFile.parse(lines, "p.txt", dir));
        assertTrue(e.getMessage().startsWith(where), e.getMessage());
        assertTrue(e.getMessage().contains(says), e.getMessage());
        assertEquals(EvalException.USAGE, e.exitCode());
    }
}
