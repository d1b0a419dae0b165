package dev.ediff.core.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** T5-style Unigram tokenizer: a hand-computed fixture and reference ids from HuggingFace tokenizers. */
class UnigramTokenizerTest {

    static Path resource(String name) {
        try {
            return Path.of(UnigramTokenizerTest.class.getResource("/text/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A small T5-layout vocabulary. Scores are chosen so that each expected segmentation below can be
     * checked by hand; the unknown score is min (-3) - 10 = -13.
     */
    static final String FIXTURE = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [
               {"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true},
               {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true},
               {"id": 2, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true}],
             "normalizer": {"type": "Sequence", "normalizers": [
               {"type": "NFKC"}, {"type": "Lowercase"},
               {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
             "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
             "post_processor": {"type": "TemplateProcessing",
               "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
               "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                        {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
               "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
             "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
             "model": {"type": "Unigram", "unk_id": 2, "byte_fallback": false, "vocab": [
               ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["\u2581", -2.0], ["\u2581a", -1.0],
               ["\u2581cat", -1.5], ["\u2581ca", -2.0], ["t", -2.5], ["c", -3.0], ["a", -3.0],
               ["\u2581hat", -2.0], ["h", -3.0], ["\u2581c", -2.5], ["at", -2.0]]}}
            """;

    static UnigramTokenizer fixture(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, FIXTURE);
        return UnigramTokenizer.fromTokenizerJson(file);
    }

    @Test
    void handComputedSegmentations(@TempDir Path dir) throws IOException {
        UnigramTokenizer t = fixture(dir);
        Map<String, int[]> expected = Map.of(
                "a cat", new int[] {4, 5, 1},            // ▁a (-1) beats ▁ a (-5); ▁cat (-1.5) beats ▁ca t, ▁c at (-4.5)
                "Cat  HAT", new int[] {5, 10, 1},        // lower-cased, double space folded
                "chat", new int[] {12, 11, 13, 1},       // ▁c h at (-7.5) beats ▁ c h at (-10)
                "cax", new int[] {6, 2, 1},              // ▁ca (-2) + unknown x (-13)
                "xyz cat", new int[] {3, 2, 5, 1},       // ▁, then x y z fused into one unknown
                "a</s>cat", new int[] {4, 1, 5, 1},      // the added token cuts the text
                "", new int[] {1});
        expected.forEach((text, ids) -> assertArrayEquals(ids, t.encode(text).ids(), text));
        Encoding e = t.encode("xyz cat");
        assertEquals(0, e.start(1));
        assertEquals(3, e.end(1), "the fused unknown token covers xyz");
        assertEquals(3, e.start(2), "▁cat starts at the space that became ▁");
        assertEquals(7, e.end(2));
        assertEquals(new SpecialIds(SpecialIds.NONE, 1, 0, 2), t.specialIds());
        assertEquals(14, t.vocabSize());
        assertEquals("a cat hat", t.decode(t.encode("A cat hat").ids()));
    }

    @Test
    void paddingAndTruncationKeepTheEndToken(@TempDir Path dir) throws IOException {
        UnigramTokenizer t = fixture(dir);
        Encoding padded = t.encode("a cat", 6);
        assertArrayEquals(new int[] {4, 5, 1, 0, 0, 0}, padded.ids());
        assertArrayEquals(new int[] {1, 1, 1, 0, 0, 0}, padded.attentionMask());
        assertFalse(padded.truncated());
        Encoding cut = t.encode("a cat hat chat", 3);
        assertArrayEquals(new int[] {4, 5, 1}, cut.ids());
        assertTrue(cut.truncated());
        assertEquals(List.of("hat", "chat"), cut.droppedWords());
        assertEquals(" hat chat", cut.droppedText());
    }

    @Test
    void findsPhraseSpans(@TempDir Path dir) throws IOException {
        UnigramTokenizer t = fixture(dir);
        assertEquals(new TokenSpan(1, 3), t.findSpan("a cat hat chat", "cat hat").orElseThrow());
        assertEquals(new TokenSpan(3, 6), t.findSpan("a cat hat chat", "CHAT").orElseThrow());
        assertTrue(t.findSpan("a cat hat", "dog").isEmpty());
    }

    @Test
    void referenceIdsFromHuggingFaceTokenizers() {
        Tokenizer t = Tokenizers.load(resource("t5_mini_tokenizer.json"));
        assertInstanceOf(UnigramTokenizer.class, t);
        List<TokenizerConformance.CaseResult> results = TokenizerConformance.run(t, resource("t5_mini_cases.json"));
        StringBuilder failures = new StringBuilder();
        for (TokenizerConformance.CaseResult r : results) {
            if (!r.passed()) {
                failures.append("\n  [").append(r.index()).append("] ").append(r.text()).append(": ").append(r.detail());
            }
        }
        assertTrue(failures.length() == 0, "failing cases:" + failures);
        assertEquals(17, results.size());
    }

    /**
     * The fixture under every Metaspace variant (prepend always/first/never, split or not, after
     * WhitespaceSplit), against ids from HuggingFace tokenizers
     * ({@code tools/tokenizers/make_unigram_variant_cases.py}).
     */
    @Test
    void metaspaceVariantsMatchHuggingFace(@TempDir Path dir) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode variants = mapper.readTree(resource("unigram_fixture_variant_cases.json").toFile());
        assertEquals(7, variants.size());
        StringBuilder failures = new StringBuilder();
        variants.fields().forEachRemaining(v -> {
            try {
                com.fasterxml.jackson.databind.node.ObjectNode root =
                        (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(FIXTURE);
                root.set("pre_tokenizer", v.getValue().get("pre_tokenizer"));
                Path file = dir.resolve(v.getKey() + ".json");
                mapper.writeValue(file.toFile(), root);
                for (TokenizerConformance.CaseResult r : TokenizerConformance.run(Tokenizers.load(file), v.getValue().get("cases"), v.getKey())) {
                    if (!r.passed()) {
                        failures.append("\n  ").append(v.getKey()).append(" '").append(r.text()).append("': ").append(r.detail());
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertTrue(failures.length() == 0, "failing cases:" + failures);
    }

    @Test
    void unsupportedFilesNameTheFieldAndTheExpectation(@TempDir Path dir) throws IOException {
        Path wordPiece = dir.resolve("wp.json");
        Files.writeString(wordPiece, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(wordPiece));
        assertTrue(e.getMessage().contains("wp.json") && e.getMessage().contains("model.type")
                && e.getMessage().contains("WordPiece") && e.getMessage().contains("Unigram"), e.getMessage());

        Path fallback = dir.resolve("bf.json");
        Files.writeString(fallback, FIXTURE.replace("\"byte_fallback\": false", "\"byte_fallback\": true"));
        e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(fallback));
        assertTrue(e.getMessage().contains("model.byte_fallback"), e.getMessage());

        Path badNormalizer = dir.resolve("bn.json");
        Files.writeString(badNormalizer, FIXTURE.replace("{\"type\": \"NFKC\"}", "{\"type\": \"BertNormalizer\"}"));
        e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(badNormalizer));
        assertTrue(e.getMessage().contains("normalizer.normalizers[0].type") && e.getMessage().contains("BertNormalizer"), e.getMessage());

        Path notJson = dir.resolve("x.json");
        Files.writeString(notJson, "{not json");
        e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(notJson));
        assertTrue(e.getMessage().contains("x.json"), e.getMessage());

        e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(dir.resolve("missing.json")));
        assertTrue(e.getMessage().contains("missing.json"), e.getMessage());

        Path noModel = dir.resolve("nm.json");
        new ObjectMapper().writeValue(noModel.toFile(), Map.of("version", "1.0"));
        e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(noModel));
        assertTrue(e.getMessage().contains("model.type"), e.getMessage());
    }
}
