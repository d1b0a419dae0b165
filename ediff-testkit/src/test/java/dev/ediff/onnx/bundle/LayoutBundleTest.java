package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.api.Truncation;
import dev.ediff.core.EDiff;
import dev.ediff.core.GenerationParameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bundle with a {@code "layout"} block, end to end on the fixture bundle (token embeddings by
 * table lookup, T5 and CLIP 8 tokens each): a two-object prompt is encoded as two phrases, each in
 * its own half of the token positions, the pooled embedding from the phrases joined by ", ", and
 * the generation says which phrases it used; switched off, or for a prompt without two objects,
 * the images are those of the same bundle without the block (painted words: see the core's
 * {@code ConditionerLayoutTest}, the fixture's experts take no attention bias).
 */
class LayoutBundleTest {

    @TempDir
    static Path tmp;
    static EDiff plain;
    static EDiff laidOut;

    /**
     * A layout whose phrases fit the fixture's 4 tokens per phrase (CLIP: start, 2 words, end; T5:
     * "cat"/"red" are whole words, a letter is two pieces, then the end token): nouns "cat" and
     * "red", the modifier "q", the cells of a 2x2 grid named by single letters.
     */
    static ObjectNode fixtureLayout() {
        ObjectNode l = FixtureBundle.JSON.createObjectNode().put("grid", 2);
        l.putArray("nouns").add("cat").add("red");
        l.putArray("modifiers").add("q");
        var cells = l.putArray("cells");
        for (String c : List.of("x", "y", "z", "w")) {
            cells.addArray().add(c);
        }
        l.putObject("relations").putArray("above").add("above");
        l.putObject("placements").putArray("above").add(0).add(3);
        return l;
    }

    @BeforeAll
    static void open() {
        plain = ModelBundle.open(FixtureBundle.create(tmp.resolve("plain")).dir, FixtureBundle.CPU);
        laidOut = ModelBundle.open(FixtureBundle.create(tmp.resolve("layout")).edit(m -> m.set("layout", fixtureLayout())).dir,
                FixtureBundle.CPU);
    }

    @AfterAll
    static void close() {
        plain.close();
        laidOut.close();
    }

    static double[] image(EDiff ediff, Request r) {
        return ediff.generate(r).samples().stream().flatMapToDouble(s -> Arrays.stream(s.data())).toArray();
    }

    static Request.Builder request(String prompt) {
        return Request.prompt(prompt).seed(5).steps(3).untilStage("base");
    }

    @Test
    void theModelShowsItsLayout() {
        assertTrue(plain.layout().isEmpty());
        assertEquals(List.of("cat x", "red w"), laidOut.layout().orElseThrow().phrases("cat above red"));
    }

    @Test
    void twoObjectsAreEncodedPhraseByPhraseIntoHalvesOfTheTokens() {
        AtomicReference<Conditioning> seen = new AtomicReference<>();
        Expert recorder = (x, shape, sigma, cond, out) -> {
            seen.set(cond);
            System.arraycopy(x, 0, out, 0, out.length);
        };
        try (EDiff recording = laidOut.toBuilder().replaceExpert("base", NoiseInterval.all(), recorder).build()) {
            Generation g = recording.generate(request("a photo of cat above red").build());
            assertEquals(List.of("cat x", "red w"), g.layoutPhrases());
            assertEquals(List.of(), g.truncations(), "both phrases fit their 4 tokens");
            assertEquals("true", g.parameters().get("layout"));
            assertEquals("cat x | red w", g.parameters().get("layout_phrases"));
            Conditioning cond = lastRow(seen.get());
            for (String role : List.of(TextEncoder.T5, TextEncoder.CLIP)) {
                TextEncoder e = laidOut.textEncoders().get(role);
                String tokens = role + "_tokens";
                String mask = role + "_mask";
                int dim = (int) cond.get(tokens).orElseThrow().dim(2);
                // each phrase encoded whole (8 tokens) starts with its 4 tokens: the model is a table lookup
                TextEncoding a = e.encode("cat x");
                TextEncoding b = e.encode("red w");
                float[] expected = new float[8 * dim];
                System.arraycopy(a.conditioning().get(tokens).orElseThrow().toArray(), 0, expected, 0, 4 * dim);
                System.arraycopy(b.conditioning().get(tokens).orElseThrow().toArray(), 0, expected, 4 * dim, 4 * dim);
                assertArrayEquals(expected, cond.get(tokens).orElseThrow().toArray(), role + " token slots");
                float[] expectedMask = new float[8];
                for (int i = 0; i < 4; i++) {
                    expectedMask[i] = a.conditioning().get(mask).orElseThrow().get(i);
                    expectedMask[4 + i] = b.conditioning().get(mask).orElseThrow().get(i);
                }
                assertArrayEquals(expectedMask, cond.get(mask).orElseThrow().toArray(), role + " mask");
            }
            assertArrayEquals(laidOut.textEncoders().get(TextEncoder.CLIP).encode("cat x, red w").conditioning()
                            .get(Conditioning.CLIP_POOLED).orElseThrow().toArray(),
                    cond.get(Conditioning.CLIP_POOLED).orElseThrow().toArray(), "pooled: the phrases joined by ', '");
        }
    }

    /** The conditioning the base stage's experts receive for {@code r} (the last call's). */
    static Conditioning recorded(EDiff ediff, Request r) {
        AtomicReference<Conditioning> seen = new AtomicReference<>();
        Expert recorder = (x, shape, sigma, cond, out) -> {
            seen.set(cond);
            System.arraycopy(x, 0, out, 0, out.length);
        };
        try (EDiff recording = ediff.toBuilder().replaceExpert("base", NoiseInterval.all(), recorder).build()) {
            recording.generate(r);
        }
        return seen.get();
    }

    /**
     * Encoders whose token length is dynamic run a phrase at its own length; fixed-length ones run it
     * padded to the full length and keep its first slots: the same conditioning (the fixture's
     * encoders mask their padding).
     */
    @Test
    void dynamicAndFixedLengthEncodersGiveTheSamePhraseSlots() {
        FixtureBundle dynamic = FixtureBundle.create(tmp.resolve("dynamic")).edit(m -> m.set("layout", fixtureLayout()));
        Map<String, byte[]> files = FixtureBundle.files();
        dynamic.write("t5/encoder.onnx", new FixtureBundle.TextEncoderGraph(false,
                        dev.ediff.core.text.Tokenizers.load(files.get("t5/tokenizer.json"), "t5").vocabSize()).dynamicLength().build())
                .write("clip/text.onnx", new FixtureBundle.TextEncoderGraph(true,
                        dev.ediff.core.text.Tokenizers.load(files.get("clip/tokenizer.json"), "clip").vocabSize()).dynamicLength()
                        .build());
        Request r = request("q cat above red").build();
        try (EDiff d = ModelBundle.open(dynamic.dir, FixtureBundle.CPU)) {
            assertEquals(List.of("q cat x", "red w"), d.generate(r).layoutPhrases());
            assertEquals(recorded(laidOut, r), recorded(d, r));
        }
    }

    /** The conditional branch (the last of the batch without a style). */
    static Conditioning lastRow(Conditioning c) {
        Map<String, Tensor> rows = new java.util.LinkedHashMap<>();
        c.tensors().forEach((role, t) -> rows.put(role, t.slice(t.batch() - 1)));
        return Conditioning.of(rows);
    }

    @Test
    void aLaidOutPromptChangesTheImageAndRegeneratesFromItsParameters() {
        Request r = request("cat above red").build();
        Generation g = laidOut.generate(r);
        double[] laid = image(laidOut, r);
        assertFalse(Arrays.equals(image(plain, r), laid), "the layout changes the conditioning");
        assertArrayEquals(laid, image(laidOut, GenerationParameters.parse(g.parameters()).build()));
    }

    @Test
    void switchedOffOrOneObjectPromptsAreEncodedWholeAsWithoutALayout() {
        Request off = request("cat above red").layout(false).build();
        Generation g = laidOut.generate(off);
        assertEquals(List.of(), g.layoutPhrases());
        assertEquals("false", g.parameters().get("layout"));
        assertFalse(g.parameters().containsKey("layout_phrases"));
        assertArrayEquals(image(plain, off), image(laidOut, off));
        assertArrayEquals(image(laidOut, off), image(laidOut, GenerationParameters.parse(g.parameters()).build()),
                "layout=false is read back");

        for (String prompt : List.of("a photo of the hat", "cat x", "cat above red above cat")) {
            Request one = request(prompt).build();
            assertEquals(List.of(), laidOut.generate(one).layoutPhrases(), prompt);
            assertArrayEquals(image(plain, one), image(laidOut, one), prompt);
        }
    }

    @Test
    void withoutALayoutNothingIsWrittenOrLaidOut() {
        Generation g = plain.generate(request("cat above red").build());
        assertEquals(List.of(), g.layoutPhrases());
        assertFalse(g.parameters().containsKey("layout"), "parameters (and PNG text) of a model without a layout stay as they were");
    }

    @Test
    void phrasesCutByTheirShareOfTokensAreReported() {
        Generation g = laidOut.generate(request("the q cat above red").build());
        assertEquals(List.of("the q cat x", "red w"), g.layoutPhrases());
        List<Truncation> t = g.truncations();
        assertTrue(t.stream().anyMatch(x -> x.encoder().equals("clip") && x.prompt().equals("layout phrase \"the q cat x\"")
                && x.droppedText().endsWith("x")), t.toString());
    }
}
