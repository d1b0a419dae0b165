package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.core.text.PromptLayout;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The manifest's optional {@code "layout"} block: the block of the layout spec (as the retrained
 * miniature model ships it) is read into a {@link PromptLayout}; without it nothing is laid out; a
 * bad block is refused with one line naming the field and what would be right.
 */
class ManifestLayoutTest {

    /** The layout block of the spec, as the miniature model's manifest will carry it. */
    static ObjectNode specBlock() {
        try (InputStream in = ManifestLayoutTest.class.getResourceAsStream("/layout/layout-block.json")) {
            return (ObjectNode) FixtureBundle.JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Manifest parse(ObjectNode m) {
        return Manifest.parse(FixtureBundle.bytes(m), "m.json");
    }

    static ObjectNode withBlock(Consumer<ObjectNode> change) {
        ObjectNode m = FixtureBundle.defaultManifest();
        ObjectNode block = specBlock();
        change.accept(block);
        m.set("layout", block);
        return m;
    }

    static void refused(Consumer<ObjectNode> change, String... parts) {
        refusedManifest(withBlock(change), parts);
    }

    static void refusedManifest(ObjectNode m, String... parts) {
        String msg = assertThrows(BundleException.class, () -> parse(m)).getMessage();
        assertFalse(msg.contains("\n"), "one line: " + msg);
        assertTrue(msg.startsWith("m.json: "), msg);
        for (String part : parts) {
            assertTrue(msg.contains(part), "expected '" + part + "' in: " + msg);
        }
    }

    @Test
    void theSpecBlockIsReadIntoAPromptLayout() {
        PromptLayout layout = parse(withBlock(b -> { })).layout().orElseThrow();
        assertEquals(3, layout.grid());
        assertEquals(List.of("circle", "square", "triangle", "diamond", "star"), layout.nouns());
        assertEquals(11, layout.modifiers().size());
        assertEquals(9, layout.cells().size());
        assertEquals("in the bottom right corner", layout.cellPhrase(8));
        assertEquals(List.of("left", "right", "above", "below"), List.copyOf(layout.relations().keySet()));
        assertEquals(List.of(7, 1), layout.placements().get("below"));
        assertEquals(List.of("a small red circle at the top", "a large blue square at the bottom"),
                layout.phrases("a small red circle above a large blue square"));
    }

    @Test
    void withoutABlockThereIsNoLayout() {
        assertTrue(parse(FixtureBundle.defaultManifest()).layout().isEmpty());
        ObjectNode m = FixtureBundle.defaultManifest();
        m.putNull("layout");
        assertTrue(parse(m).layout().isEmpty(), "null is no layout");
    }

    @Test
    void onlyGridNounsAndCellsAreRequired() {
        PromptLayout layout = parse(withBlock(b -> {
            b.remove("modifiers");
            b.remove("relations");
            b.remove("placements");
        })).layout().orElseThrow();
        assertEquals(List.of("a circle in the top left corner", "the star"),
                layout.phrases("a circle in the upper left and the star"));
        assertEquals(List.of("a circle", "a star"), layout.phrases("a circle above a star"),
                "no relations: two mentions without cells");
    }

    @Test
    void badBlocksAreRefusedOneLineEach() {
        refusedManifest(with(FixtureBundle.defaultManifest(), m -> m.put("layout", "grid 3")), "layout must be a JSON object");
        refused(b -> b.put("rows", 3), "unknown field 'layout.rows'", "grid");
        refused(b -> b.remove("grid"), "missing field 'layout.grid'");
        refused(b -> b.put("grid", 0), "layout.grid", "1..16", "got 0");
        refused(b -> b.put("grid", 2.5), "layout.grid", "integer");
        refused(b -> b.remove("nouns"), "missing field 'layout.nouns'");
        refused(b -> b.put("nouns", "circle"), "layout.nouns must be a JSON array of strings");
        refused(b -> b.putArray("nouns"), "layout.nouns must name at least one");
        refused(b -> ((ArrayNode) b.get("nouns")).add(3), "layout.nouns[5] must be a string", "got 3");
        refused(b -> ((ArrayNode) b.get("nouns")).add("Heart"), "layout.nouns[5]", "lower-case", "'Heart'");
        refused(b -> ((ArrayNode) b.get("nouns")).add("red"), "layout.modifiers[4] 'red' is also nouns[5]");
        refused(b -> ((ArrayNode) b.get("modifiers")).add("two words"), "layout.modifiers[11]", "one lower-case word");
        refused(b -> ((ArrayNode) b.get("cells")).remove(8), "layout.cells has 8 lists", "grid of 3 needs 9");
        refused(b -> b.put("grid", 2), "layout.cells has 9 lists", "grid of 2 needs 4");
        refused(b -> ((ArrayNode) b.get("cells")).set(4, FixtureBundle.JSON.createArrayNode()), "layout.cells[4]",
                "non-empty list");
        refused(b -> ((ArrayNode) b.get("cells").get(1)).set(0, "At the top"), "layout.cells[1][0]",
                "lower-case words", "'At the top'");
        refused(b -> ((ArrayNode) b.get("cells").get(1)).set(0, ""), "layout.cells[1][0]", "got ''");
        refused(b -> ((ArrayNode) b.get("cells").get(1)).set(0, "at  the top"), "layout.cells[1][0]", "single spaces");
        refused(b -> ((ArrayNode) b.get("cells").get(5)).add("at the top"), "layout.cells[5][3] 'at the top' is also cells[1][0]");
        refused(b -> b.put("relations", 1), "layout.relations must be a JSON object");
        refused(b -> ((ObjectNode) b.get("relations")).putArray("near"), "layout.relations.near", "non-empty list");
        refused(b -> ((ObjectNode) b.get("placements")).putArray("near").add(0).add(1), "layout.placements.near",
                "names no relation", "[left, right, above, below]");
        refused(b -> ((ObjectNode) b.get("placements")).putArray("left").add(3).add(9), "layout.placements.left[1] is 9",
                "0..8");
        refused(b -> ((ObjectNode) b.get("placements")).putArray("left").add(-1).add(5), "layout.placements.left[0] is -1");
        refused(b -> ((ObjectNode) b.get("placements")).putArray("left").add(4).add(4), "layout.placements.left",
                "both objects in cell 4", "must differ");
        refused(b -> ((ObjectNode) b.get("placements")).putArray("left").add(3), "layout.placements.left",
                "two cell numbers");
        refused(b -> ((ObjectNode) b.get("placements")).put("left", "3,5"), "layout.placements.left", "two cell numbers");
    }

    @Test
    void aLayoutNeedsTextEncodersWithRoomForTwoPhrases() {
        ObjectNode noEncoders = withBlock(b -> { });
        noEncoders.remove("text_encoders");
        refusedManifest(noEncoders, "'layout'", "no text_encoders");
        ObjectNode short3 = withBlock(b -> { });
        ((ObjectNode) short3.get("text_encoders").get(1)).put("max_tokens", 3);
        refusedManifest(short3, "text_encoders[1].max_tokens must be at least 4", "got 3");
    }

    private static ObjectNode with(ObjectNode m, Consumer<ObjectNode> change) {
        change.accept(m);
        return m;
    }
}
