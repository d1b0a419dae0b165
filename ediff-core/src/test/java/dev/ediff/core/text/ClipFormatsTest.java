package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three CLIP formats give the same ids: the original gz merges file, HuggingFace's
 * vocab.json + merges.txt, and tokenizer.json (merges as "a b" strings and as [a, b] pairs). The
 * HuggingFace files are written here from the gz file, the way the standard formats lay them out.
 */
class ClipFormatsTest {

    @TempDir
    static Path dir;
    static Path gz;
    static Path vocabJson;
    static Path mergesTxt;
    static Path tokenizerJsonStrings;
    static Path tokenizerJsonPairs;
    static List<String> prompts = new ArrayList<>();

    @BeforeAll
    static void writeFixtures() throws IOException {
        gz = dir.resolve("bpe_simple_vocab_16e6.txt.gz");
        try (InputStream in = ClipFormatsTest.class.getResourceAsStream(ClipTokenizer.STANDARD_RESOURCE)) {
            Files.copy(in, gz);
        }
        List<String[]> merges = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(gz)), StandardCharsets.UTF_8))) {
            r.readLine();
            String line;
            while (merges.size() < ClipTokenizer.STANDARD_MERGES && (line = r.readLine()) != null) {
                merges.add(line.split(" "));
            }
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (char c : ByteUnicode.vocabularyOrder()) {
            vocab.put(String.valueOf(c), vocab.size());
        }
        for (char c : ByteUnicode.vocabularyOrder()) {
            vocab.put(c + "</w>", vocab.size());
        }
        for (String[] m : merges) {
            vocab.put(m[0] + m[1], vocab.size());
        }
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
        assertEquals(49408, vocab.size());

        ObjectMapper mapper = new ObjectMapper();
        vocabJson = dir.resolve("vocab.json");
        mapper.writeValue(vocabJson.toFile(), vocab);
        mergesTxt = dir.resolve("merges.txt");
        try (OutputStream out = Files.newOutputStream(mergesTxt)) {
            out.write("#version: 0.2\n".getBytes(StandardCharsets.UTF_8));
            for (String[] m : merges) {
                out.write((m[0] + " " + m[1] + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        tokenizerJsonStrings = dir.resolve("tokenizer-strings.json");
        mapper.writeValue(tokenizerJsonStrings.toFile(), hfTokenizerJson(mapper, vocab, merges, false));
        tokenizerJsonPairs = dir.resolve("tokenizer-pairs.json");
        mapper.writeValue(tokenizerJsonPairs.toFile(), hfTokenizerJson(mapper, vocab, merges, true));

        for (JsonNode c : mapper.readTree(ClipTokenizerConformanceTest.casesFile().toFile())) {
            prompts.add(c.get("text").asText());
        }
        prompts.addAll(List.of("Tom &amp; Jerry &lt;3", "caf\u00e9&nbsp;&#233;t\u00e9 &#x1F600;", "<|endoftext|> after end",
                "\u0130stanbul \u03a3\u039f\u03a3", "x\u00a0\u00a0y\u2003z", "a&amp;amp;b", "it's 'quoted' 'll"));
    }

    /** HuggingFace's layout of CLIP's tokenizer.json (as written by the tokenizers library for openai/clip-vit-*). */
    private static ObjectNode hfTokenizerJson(ObjectMapper mapper, Map<String, Integer> vocab, List<String[]> merges, boolean pairs) {
        ObjectNode root = mapper.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : List.of("<|startoftext|>", "<|endoftext|>")) {
            added.addObject().put("id", vocab.get(s)).put("content", s).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", true).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = normalizer.putArray("normalizers");
        ns.addObject().put("type", "NFC");
        ns.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("Regex", "\\s+");
        ns.addObject().put("type", "Lowercase");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode ps = pre.putArray("pretokenizers");
        ObjectNode split = ps.addObject().put("type", "Split").put("behavior", "Removed").put("invert", true);
        split.putObject("pattern").put("Regex",
                "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+");
        ps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        ObjectNode post = root.putObject("post_processor").put("type", "RobertaProcessing");
        post.putArray("sep").add("<|endoftext|>").add(vocab.get("<|endoftext|>"));
        post.putArray("cls").add("<|startoftext|>").add(vocab.get("<|startoftext|>"));
        post.put("trim_offsets", false).put("add_prefix_space", false);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<|endoftext|>").put("continuing_subword_prefix", "").put("end_of_word_suffix", "</w>")
                .put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode m = model.putArray("merges");
        for (String[] pair : merges) {
            if (pairs) {
                m.addArray().add(pair[0]).add(pair[1]);
            } else {
                m.add(pair[0] + " " + pair[1]);
            }
        }
        return root;
    }

    @Test
    void allLoadersGiveIdenticalIds() {
        Tokenizer standard = ClipTokenizer.standard();
        List<Tokenizer> others = List.of(ClipTokenizer.fromBpeGz(gz), ClipTokenizer.fromVocabAndMerges(vocabJson, mergesTxt),
                ClipTokenizer.fromTokenizerJson(tokenizerJsonStrings), ClipTokenizer.fromTokenizerJson(tokenizerJsonPairs),
                Tokenizers.load(gz), Tokenizers.load(tokenizerJsonPairs));
        for (Tokenizer t : others) {
            assertEquals(49408, t.vocabSize());
            assertEquals(standard.specialIds(), t.specialIds());
            for (String p : prompts) {
                assertArrayEquals(standard.encode(p).ids(), t.encode(p).ids(), p);
                assertArrayEquals(standard.encodeToContext(p).ids(), t.encodeToContext(p).ids(), p);
            }
        }
    }

    @Test
    void loadOpensADirectoryWithVocabAndMerges(@TempDir Path hf) throws IOException {
        Files.copy(vocabJson, hf.resolve("vocab.json"));
        Files.copy(mergesTxt, hf.resolve("merges.txt"));
        Tokenizer t = Tokenizers.load(hf);
        assertInstanceOf(ClipTokenizer.class, t);
        assertArrayEquals(new int[] {49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407},
                t.encode("a photograph of an astronaut riding a horse").ids());
    }

    @Test
    void badFilesAreReportedWithFileAndField(@TempDir Path bad) throws IOException {
        Path noSuffix = bad.resolve("gpt2.json");
        Files.writeString(noSuffix, "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(noSuffix));
        assertTrue(e.getMessage().contains("gpt2.json") && e.getMessage().contains("model.end_of_word_suffix"), e.getMessage());

        Path badMerge = bad.resolve("merges.txt");
        Files.writeString(badMerge, "#version: 0.2\ni n\nthis is three\n");
        e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromVocabAndMerges(vocabJson, badMerge));
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());

        Path unknownMerge = bad.resolve("merges2.txt");
        Files.writeString(unknownMerge, "#version: 0.2\n\u4e00 \u4e8c\n");
        e = assertThrows(TokenizerFormatException.class, () -> ClipTokenizer.fromVocabAndMerges(vocabJson, unknownMerge));
        assertTrue(e.getMessage().contains("merge 1"), e.getMessage());
    }
}
