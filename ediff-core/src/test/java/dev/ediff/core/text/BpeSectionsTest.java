package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The byte scanner reads the same vocabulary and merges as Jackson's tree, and declines what it does not handle. */
class BpeSectionsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String file(String vocab, String merges) {
        return "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 3, \"content\": \"x\", \"special\": true}],\n"
                + " \"model\": {\"type\": \"BPE\", \"dropout\": null, \"vocab\": " + vocab + ",\n  \"merges\": " + merges
                + ", \"end_of_word_suffix\": \"</w>\"}, \"decoder\": {\"type\": \"x\", \"nested\": [[1, {\"a\": \"]}\"}]]}}";
    }

    /** The vocabulary and merges as Jackson's tree reads them. */
    private static void assertSameAsTree(String json) throws Exception {
        BpeSections s = BpeSections.split(json.getBytes(StandardCharsets.UTF_8));
        assertNotNull(s, json);
        JsonNode root = JSON.readTree(json);
        Map<String, Integer> vocab = new HashMap<>();
        root.path("model").path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        assertEquals(vocab, s.vocab);
        List<String> merges = new ArrayList<>();
        for (JsonNode m : root.path("model").path("merges")) {
            merges.add(m.isTextual() ? m.asText() : m.get(0).asText() + " " + m.get(1).asText());
        }
        assertEquals(merges, s.merges.stream().map(p -> p[0] + " " + p[1]).toList());
        // the rest is the same document with both parts emptied
        JsonNode rest = JSON.readTree(s.rest);
        ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("model")).putObject("vocab");
        ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("model")).putArray("merges");
        assertEquals(root, rest);
    }

    @Test
    void readsEscapesUnicodeAndBothMergeFormatsLikeTheTreeReader() throws Exception {
        String vocab = "{\"a\": 0, \"\\u0120b\": 1, \"Ġb\": 2, \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\": 3, \"\\ud83d\\ude00\": 4,"
                + " \"😀x\": 5, \"dup\": 6, \"dup\": 7, \"neg\": -8 , \"big\" :2147483647}";
        assertSameAsTree(file(vocab, "[\"a Ġb\", \"\\u0120b \\ud83d\\ude00\", \"q\\\"\\\\ x\"]"));
        assertSameAsTree(file(vocab, "[[\"a\", \"Ġb\"], [ \"a b\" , \"\\ud83d\\ude00\" ]]"));
        assertSameAsTree(file("{}", "[]"));
    }

    @Test
    void declinesWhatOnlyTheTreeReaderHandles() {
        for (String json : List.of(
                file("{\"a\": 1.0}", "[]"),                       // not an integer
                file("{\"a\": \"1\"}", "[]"),                     // a string id
                file("{\"a\": 2147483648}", "[]"),                // beyond int
                file("{\"a\": 01}", "[]"),                        // not JSON
                file("{\"a\": 1}", "[\"a b c\"]"),                // three parts: the tree reader names the entry
                file("{\"a\": 1}", "[[\"a\", 1]]"),               // a pair with a number
                file("{\"a\tb\": 1}", "[]"),                      // a raw control character
                file("{\"\\x\": 1}", "[]"),                       // a bad escape
                "\uFEFF" + file("{}", "[]"),                       // a byte-order mark
                "{\"model\": {\"vocab\": {}, \"merges\": [], \"vocab\": {}}}",
                "{\"model\": {\"vocab\": {}}}",
                "[1, 2]")) {
            assertNull(BpeSections.split(json.getBytes(StandardCharsets.UTF_8)), json);
        }
        byte[] badUtf8 = file("{\"a\u00e9\": 1}", "[]").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < badUtf8.length; i++) {
            if (badUtf8[i] == (byte) 0xA9) {
                badUtf8[i] = (byte) 0x41; // é loses its continuation byte
            }
        }
        assertNull(BpeSections.split(badUtf8));
    }

    @Test
    void aTokenizerLoadedEitherWayEncodesAlike() throws Exception {
        Map<String, Integer> vocab = new java.util.LinkedHashMap<>();
        List<String> merges = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteUnicode.encode(b)), vocab.size());
        }
        for (int b = 0; b < 256; b++) {
            vocab.put(ByteUnicode.encode(b) + "</w>", vocab.size());
        }
        for (String[] m : new String[][] {{"a", "b"}, {"ab", "c</w>"}, {"Ã", "©"}, {"Ã©", "a</w>"}}) {
            vocab.putIfAbsent(m[0] + m[1], vocab.size());
            merges.add(m[0] + " " + m[1]);
        }
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
        Map<String, Object> model = new java.util.LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("vocab", vocab);
        model.put("merges", merges);
        model.put("end_of_word_suffix", "</w>");
        byte[] json = JSON.writeValueAsBytes(Map.of("model", model));
        Tokenizer fast = Tokenizers.load(json, "fast");
        Tokenizer tree = ClipTokenizer.fromTokenizerJson(JSON.readTree(json), "tree");
        for (String text : List.of("abc", "abc abcabc", "ab c é", "", "  héllo wörld 😀")) {
            assertArrayEquals(tree.encode(text, 16).ids(), fast.encode(text, 16).ids(), text);
        }
        assertEquals(tree.vocabSize(), fast.vocabSize());
    }

    @Test
    void aBadMergeIsReportedAsBefore() {
        byte[] json = file("{\"a\": 0}", "[\"a b c\"]").getBytes(StandardCharsets.UTF_8);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(json, "bad.json"));
        assertEquals(true, e.getMessage().contains("model.merges[0]"), e.getMessage());
    }
}
