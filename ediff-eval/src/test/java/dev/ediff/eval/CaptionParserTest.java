package dev.ediff.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CaptionParserTest {

    /** The held-out prompts with the specs Python's make_caption gave them: an independent reference. */
    static final Path HELDOUT = Path.of("..", "tools", "mini", "prompts", "heldout.jsonl");

    @Test
    void everyHeldOutCaptionParsesToItsSpec() throws Exception {
        List<String> lines = Files.readAllLines(HELDOUT);
        assertEquals(300, lines.size());
        ObjectMapper json = new ObjectMapper();
        int pairs = 0;
        int withCell = 0;
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            PromptSpec expected = PromptFile.spec(n.get("spec"));
            assertEquals(expected, CaptionParser.parse(n.get("prompt").asText()), line);
            pairs += expected.relation() != null ? 1 : 0;
            withCell += expected.objects().get(0).cell() != null ? 1 : 0;
        }
        // The file's documented mix: 150 pairs, 100 singles with a cell, 50 without.
        assertEquals(150, pairs);
        assertEquals(100, withCell);
    }

    @Test
    void everyTemplateAndPhraseOfTheGrammarParses() {
        // Built from the grammar tables, the same way make_caption fills its templates.
        for (int cell = 0; cell < 9; cell++) {
            for (String p : CaptionParser.CELL_PHRASES.get(cell)) {
                for (String t : CaptionParser.SINGLE_POS_TEMPLATES) {
                    String caption = t.replace("{o}", "a little white star").replace("{p}", p);
                    PromptSpec s = CaptionParser.parse(caption);
                    assertEquals(new PromptSpec.ObjectSpec("star", "white", "small", PromptSpec.CELLS.get(cell)),
                            s.objects().get(0), caption);
                }
            }
        }
        for (String rel : PromptSpec.RELATIONS) {
            for (String r : CaptionParser.REL_PHRASES.get(rel)) {
                for (String t : CaptionParser.PAIR_TEMPLATES) {
                    String caption = t.replace("{a}", "a big green square").replace("{r}", r).replace("{b}", "a small blue circle");
                    PromptSpec s = CaptionParser.parse(caption);
                    assertEquals(rel, s.relation(), caption);
                    assertEquals(new PromptSpec.ObjectSpec("square", "green", "large", null), s.objects().get(0));
                    assertEquals(new PromptSpec.ObjectSpec("circle", "blue", "small", null), s.objects().get(1));
                }
            }
        }
        for (String t : CaptionParser.SINGLE_TEMPLATES) {
            PromptSpec s = CaptionParser.parse(t.replace("{o}", "a large orange triangle"));
            assertNull(s.objects().get(0).cell());
            assertNull(s.relation());
        }
    }

    @Test
    void caseAndWhitespaceDoNotMatter() {
        assertEquals(CaptionParser.parse("a small red circle in the center"),
                CaptionParser.parse("  A Small  RED circle\tin the   Center "));
    }

    @Test
    void ambiguousLookingPhrasesResolveAsTheGrammarMeansThem() {
        assertEquals("top", CaptionParser.parse("a small red circle at the top").objects().get(0).cell());
        assertEquals("top left", CaptionParser.parse("a small red circle at the top left").objects().get(0).cell());
        assertEquals("center", CaptionParser.parse("a small red circle in the middle").objects().get(0).cell());
        assertEquals("left", CaptionParser.parse("a small red circle in the middle left").objects().get(0).cell());
        assertEquals("left", CaptionParser.parse("a small red circle on the left").objects().get(0).cell());
        assertEquals("left", CaptionParser.parse("a small red circle on the left of a big red star").relation());
        assertEquals("top", CaptionParser.parse("in the upper middle, a small red circle").objects().get(0).cell());
    }

    @Test
    void textOutsideTheGrammarIsRefusedWithAReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CaptionParser.parse("a small red hexagon in the center"));
        assertTrue(e.getMessage().contains("unknown word 'hexagon'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CaptionParser.parse("a red circle"));
        assertTrue(e.getMessage().contains("not a caption of the mini grammar"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CaptionParser.parse("a small red circle left of"));
        assertThrows(IllegalArgumentException.class, () -> CaptionParser.parse(""));
        assertThrows(IllegalArgumentException.class,
                () -> CaptionParser.parse("a small red circle left of a big red star in the center"));
    }
}
