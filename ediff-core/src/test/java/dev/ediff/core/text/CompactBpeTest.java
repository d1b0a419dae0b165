package dev.ediff.core.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compact form of a BPE tokenizer ({@link CompactBpe}) tokenizes exactly as the tokenizer it was
 * made from (JSON -> compact -> tokenize equals JSON -> tokenize: ids, token strings, offsets and
 * decoded text, on thousands of generated prompts), for the real CLIP vocabulary and for a small
 * tokenizer.json with the unusual parts the format allows (ids with gaps, two tokens of one id, a
 * lone surrogate, a repeated merge, added tokens, another padding and context length); and a file
 * that is truncated, has any byte changed, was made from other content, is of another version, or
 * is inconsistent despite a correct checksum is refused.
 */
class CompactBpeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Prompts from pieces CLIP treats differently: words, digits, contractions, entities, specials, non-ASCII. */
    static List<String> prompts(int count, long seed) {
        String[] pieces = {"a", "photo", "of", "cat", "riding", "horse", "astronaut", "4k", "1234", "don't", "it's",
                "&amp;", "&lt;b&gt;", "!!", "?!", "...", "<|endoftext|>", "<|startoftext|>", "Über", "naïve", "日本語",
                "😀", "👍🏽", "\t", "  ", "\n", "x_y-z", "é", "ß", "İ", "ﬁ", "Ⅻ", "\u00a0", "#hash", "@you", "snake_case",
                "CamelCase", "ÀÉÎÕÜ", "ab", "bc", "abc", "cab", "zzz"};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(12);
            for (int k = 0; k < n; k++) {
                sb.append(pieces[r.nextInt(pieces.length)]);
                sb.append(r.nextInt(3) == 0 ? "" : " ");
            }
            out.add(sb.toString());
        }
        return out;
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static void assertSameTokens(Tokenizer expected, Tokenizer actual, List<String> prompts) {
        assertEquals(expected.vocabSize(), actual.vocabSize());
        assertEquals(expected.specialIds(), actual.specialIds());
        assertEquals(expected.contextLength(), actual.contextLength());
        for (String p : prompts) {
            Encoding e = expected.encode(p);
            Encoding a = actual.encode(p);
            assertArrayEquals(e.ids(), a.ids(), p);
            for (int i = 0; i < e.size(); i++) {
                assertEquals(e.token(i), a.token(i), p);
                assertEquals(e.start(i), a.start(i), p);
                assertEquals(e.end(i), a.end(i), p);
            }
            assertArrayEquals(expected.encodeToContext(p).ids(), actual.encodeToContext(p).ids(), p);
            assertEquals(expected.decode(e.ids()), actual.decode(a.ids()), p);
        }
    }

    /** The real CLIP vocabulary written as a HuggingFace tokenizer.json, with CLIP's added tokens and template. */
    static byte[] clipTokenizerJson(int padId, int maxLength) throws Exception {
        ClipTokenizer clip = ClipTokenizer.standard();
        BpeModel m = clip.model();
        ObjectNode root = JSON.createObjectNode();
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 49406).put("content", "<|startoftext|>").put("special", true);
        added.addObject().put("id", 49407).put("content", "<|endoftext|>").put("special", true);
        root.putObject("padding").put("pad_id", padId);
        root.putObject("truncation").put("max_length", maxLength);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").put("end_of_word_suffix", "</w>").put("unk_token", "<|endoftext|>");
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < m.size(); id++) {
            vocab.put(m.token(id), id);
        }
        ArrayNode merges = model.putArray("merges");
        PairRanks ranks = m.merges();
        for (int r = 0; r < ranks.lefts().length; r++) {
            merges.add(m.token(ranks.lefts()[r]) + " " + m.token(ranks.rights()[r]));
        }
        return JSON.writeValueAsBytes(root);
    }

    /**
     * A small BPE tokenizer.json: the byte characters of a, b, c and space (and their end-of-word
     * forms), merges with one pair repeated at a later rank, an id gap, two tokens of one id, a token
     * that is a lone surrogate, an added token, padding with 0 and a context of 16.
     */
    static byte[] oddTokenizerJson() {
        String json = """
                {"added_tokens": [{"id": 40, "content": "<|startoftext|>", "special": true},
                                  {"id": 41, "content": "<|endoftext|>", "special": true},
                                  {"id": 42, "content": "<odd>", "special": true}],
                 "padding": {"pad_id": 0},
                 "truncation": {"max_length": 16},
                 "model": {"type": "BPE", "end_of_word_suffix": "</w>", "unk_token": "<|endoftext|>",
                   "vocab": {"a": 0, "b": 1, "c": 2, "a</w>": 3, "b</w>": 4, "c</w>": 5, "ab": 6, "bc</w>": 7,
                             "abc</w>": 8, "ca": 9, "cab</w>": 10, "\\ud800": 20, "dup": 21, "dup2": 21,
                             "<|startoftext|>": 40, "<|endoftext|>": 41, "<odd>": 42},
                   "merges": ["a b", "b c</w>", "ab c</w>", "c a", "ca b</w>", "a b"]}}
                """;
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theStandardClipVocabularyTokenizesTheSameFromItsCompactForm() throws Exception {
        ClipTokenizer clip = ClipTokenizer.standard();
        String digest = sha256("bpe_simple_vocab_16e6".getBytes(StandardCharsets.UTF_8));
        ClipTokenizer compact = CompactBpe.decode(CompactBpe.encode(clip, digest), digest);
        assertNotNull(compact);
        List<String> prompts = new ArrayList<>(prompts(3000, 1));
        prompts.addAll(List.of("", " ", "a photograph of an astronaut riding a horse"));
        assertSameTokens(clip, compact, prompts);
        for (int id = 0; id < clip.vocabSize(); id++) {
            assertEquals(clip.model().token(id), compact.model().token(id));
            assertEquals(id, compact.model().id(clip.model().token(id)));
        }
    }

    @Test
    void aTokenizerJsonTokenizesTheSameFromItsCompactFormWrittenToAFile() throws Exception {
        for (byte[] json : new byte[][] {clipTokenizerJson(0, 64), oddTokenizerJson()}) {
            Tokenizer parsed = Tokenizers.load(json, "tokenizer.json");
            String digest = sha256(json);
            Path file = tmp.resolve(digest + CompactBpe.EXTENSION);
            assertTrue(CompactBpe.write(parsed, digest, file));
            Tokenizer compact = CompactBpe.read(file, digest);
            assertNotNull(compact);
            assertSameTokens(parsed, compact, prompts(2000, 2));
            try (Stream<Path> files = Files.list(tmp)) {
                assertEquals(List.of(file), files.filter(f -> f.toString().contains(digest)).toList(), "no .part file left");
            }
        }
    }

    @Test
    void theOddTokenizerKeepsItsOddities() throws Exception {
        byte[] json = oddTokenizerJson();
        String digest = sha256(json);
        ClipTokenizer compact = CompactBpe.decode(CompactBpe.encode((ClipTokenizer) Tokenizers.load(json, "odd"), digest), digest);
        assertNotNull(compact);
        assertEquals(43, compact.vocabSize());
        assertNull(compact.model().token(15), "an id in the gap has no token");
        assertEquals(21, compact.model().id("dup"));
        assertEquals(21, compact.model().id("dup2"));
        assertEquals(20, compact.model().id("\ud800"));
        assertEquals(-1, compact.model().id("?"), "a lone surrogate is not stored as '?'");
        assertEquals(new SpecialIds(40, 41, 0, 41), compact.specialIds());
        assertEquals(16, compact.contextLength());
        // "abc" -> ab + c</w> (rank 0), then abc</w> (rank 2); "cab" -> ca (rank 3) + b</w>, then cab</w>
        assertArrayEquals(new int[] {40, 8, 10, 42, 41}, compact.encode("abc cab<odd>").ids());
    }

    @Test
    void aDamagedTruncatedStaleOrForeignFileIsRefused() throws Exception {
        byte[] json = oddTokenizerJson();
        String digest = sha256(json);
        byte[] good = CompactBpe.encode((ClipTokenizer) Tokenizers.load(json, "odd"), digest);
        assertNotNull(CompactBpe.decode(good, digest));
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x10;
            assertNull(CompactBpe.decode(bad, digest), "byte " + i + " changed");
        }
        for (int n = 0; n < good.length; n++) {
            assertNull(CompactBpe.decode(java.util.Arrays.copyOf(good, n), digest), "truncated to " + n);
        }
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 4);
        assertNull(CompactBpe.decode(longer, digest), "bytes appended");
        assertNull(CompactBpe.decode(good, sha256("other content".getBytes(StandardCharsets.UTF_8))), "made from other content");
        byte[] otherVersion = good.clone();
        ByteBuffer.wrap(otherVersion).order(ByteOrder.LITTLE_ENDIAN).putInt(CompactBpe.MAGIC.length, CompactBpe.VERSION + 1);
        assertNull(CompactBpe.decode(withCrc(otherVersion), digest), "another format version");
        // consistent checksum, inconsistent content: an entry id beyond the vocabulary, a full merge table
        int entries = 17;
        int idsAt = good.length - 4 - 4 * (3 * 6 + PairRanks.slotsFor(6)) - 4 * (BpeModel.tableSize(entries) + 43 + entries);
        assertTrue(ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(idsAt) < 43, "the first entry's id");
        byte[] badId = good.clone();
        ByteBuffer.wrap(badId).order(ByteOrder.LITTLE_ENDIAN).putInt(idsAt, 43);
        assertNull(CompactBpe.decode(withCrc(badId), digest), "an id beyond the vocabulary");
        byte[] fullMerges = good.clone();
        ByteBuffer f = ByteBuffer.wrap(fullMerges).order(ByteOrder.LITTLE_ENDIAN);
        for (int s = 0; s < PairRanks.slotsFor(6); s++) {
            f.putInt(good.length - 4 - 4 * PairRanks.slotsFor(6) + 4 * s, 0);
        }
        assertNull(CompactBpe.decode(withCrc(fullMerges), digest), "a merge table with no free slot");
    }

    @Test
    void readingAMissingOrDamagedFileAnswersNullAndWritingReplacesIt() throws Exception {
        byte[] json = oddTokenizerJson();
        String digest = sha256(json);
        Tokenizer parsed = Tokenizers.load(json, "odd");
        Path file = tmp.resolve("sub/" + digest + CompactBpe.EXTENSION);
        assertNull(CompactBpe.read(file, digest));
        assertTrue(CompactBpe.write(parsed, digest, file));
        byte[] good = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(good, good.length / 2));
        assertNull(CompactBpe.read(file, digest));
        assertTrue(CompactBpe.write(parsed, digest, file));
        assertArrayEquals(good, Files.readAllBytes(file));
        assertNotNull(CompactBpe.read(file, digest));
        assertFalse(CompactBpe.write(TokenizerProperties.T5, digest, tmp.resolve("t5.bpe")), "a Unigram tokenizer has no compact form");
        assertFalse(Files.exists(tmp.resolve("t5.bpe")));
    }

    /** {@code bytes} with the trailing CRC-32 recomputed, so that only the other checks can refuse it. */
    private static byte[] withCrc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4, (int) crc.getValue());
        return bytes;
    }
}
