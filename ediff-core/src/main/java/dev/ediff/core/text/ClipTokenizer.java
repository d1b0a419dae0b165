package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.base.Supplier;
import com.google.common.base.Suppliers;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's byte-level BPE tokenizer, in pure Java, reproducing OpenAI's {@code simple_tokenizer.py}:
 * HTML unescaping (twice), whitespace folding, lower-casing, piece splitting (special tokens,
 * contractions, letter runs, single digits, runs of other symbols), byte-to-character mapping,
 * {@code </w>} on the last symbol, merges by rank. Encodings start with {@code <|startoftext|>}
 * (49406) and end with {@code <|endoftext|>} (49407); padding uses 49407 unless configured
 * ({@link #withPadId}), and the context is 77 ids unless configured ({@link #withContextLength}).
 *
 * <p>Differences from the reference: no {@code ftfy} fix-up (it changes no conformance prompt), and
 * only common HTML entity names are known (see {@link HtmlEntities}).
 */
public final class ClipTokenizer extends BaseTokenizer {

    /** CLIP's text context: 77 ids including start and end. */
    public static final int DEFAULT_CONTEXT_LENGTH = 77;
    /** The start token. */
    public static final String START_OF_TEXT = "<|startoftext|>";
    /** The end token. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** Merges the reference reads from the gz file: 49152 - 256 - 2 (the file holds more). */
    static final int STANDARD_MERGES = 49152 - 256 - 2;
    static final String STANDARD_RESOURCE = "/dev/ediff/core/text/bpe_simple_vocab_16e6.txt.gz";

    private static final Supplier<ClipTokenizer> STANDARD = Suppliers.memoize(() -> {
        try (InputStream in = ClipTokenizer.class.getResourceAsStream(STANDARD_RESOURCE)) {
            if (in == null) {
                throw new TokenizerFormatException("classpath resource " + STANDARD_RESOURCE + " is missing");
            }
            return fromBpeGz(in, "classpath:" + STANDARD_RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    });

    private final BpeModel model;
    /** Token strings recognized as whole pieces (the special tokens), longest first. */
    private final List<String> specialPieces;
    private final Set<Integer> skipOnDecode;

    private ClipTokenizer(BpeModel model, List<String> specialPieces, SpecialIds ids, int contextLength) {
        super(new int[] {ids.bos()}, new int[] {ids.eos()}, ids, contextLength);
        this.model = model;
        List<String> sorted = new ArrayList<>(specialPieces);
        sorted.sort(Comparator.comparingInt(String::length).reversed());
        this.specialPieces = List.copyOf(sorted);
        Set<Integer> skip = new HashSet<>();
        skip.add(ids.bos());
        skip.add(ids.eos());
        skip.add(ids.pad());
        for (String s : specialPieces) {
            skip.add(model.id(s));
        }
        this.skipOnDecode = Set.copyOf(skip);
    }

    /** A tokenizer of parts stored by {@link CompactBpe} (the special pieces in any order). */
    static ClipTokenizer of(BpeModel model, List<String> specialPieces, SpecialIds ids, int contextLength) {
        return new ClipTokenizer(model, specialPieces, ids, contextLength);
    }

    /** {@return the BPE model, for {@link CompactBpe}} */
    BpeModel model() {
        return model;
    }

    /** {@return the special pieces, longest first, for {@link CompactBpe}} */
    List<String> specialPieces() {
        return specialPieces;
    }

    /** {@return the real CLIP vocabulary (49408 tokens), loaded once from the classpath} */
    public static ClipTokenizer standard() {
        return STANDARD.get();
    }

    /**
     * Reads an original {@code bpe_simple_vocab_16e6.txt.gz}.
     *
     * @param file the gzipped merges file
     * @return the tokenizer
     */
    public static ClipTokenizer fromBpeGz(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return fromBpeGz(in, file.toString());
        } catch (IOException e) {
            throw new TokenizerFormatException(file + ": cannot read the CLIP BPE file: " + e.getMessage(), e);
        }
    }

    /**
     * Reads an original gzipped CLIP merges file: a header line, then one merge per line. As in the
     * reference, the vocabulary is the 256 byte characters, the same with {@code </w>}, the first
     * 48894 merges' results, then the start and end tokens.
     *
     * @param gz     the gzipped merges
     * @param source names the file in error messages
     * @return the tokenizer
     */
    public static ClipTokenizer fromBpeGz(InputStream gz, String source) {
        List<String[]> merges = new ArrayList<>(STANDARD_MERGES);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(gz), StandardCharsets.UTF_8))) {
            String header = r.readLine();
            if (header == null) {
                throw new TokenizerFormatException(source + ": empty CLIP BPE file");
            }
            String line;
            int lineNo = 1;
            while (merges.size() < STANDARD_MERGES && (line = r.readLine()) != null) {
                lineNo++;
                // the reference splits on whitespace; merge lines hold exactly one space
                String[] parts = splitMerge(line.strip());
                if (parts == null) {
                    throw new TokenizerFormatException(source + ": line " + lineNo + ": expected a merge 'a b', got '" + line + "'");
                }
                merges.add(parts);
            }
        } catch (IOException e) {
            throw new TokenizerFormatException(source + ": cannot read the gzipped CLIP BPE file: " + e.getMessage(), e);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        char[] bytes = ByteUnicode.vocabularyOrder();
        for (char c : bytes) {
            vocab.put(String.valueOf(c), vocab.size());
        }
        for (char c : bytes) {
            vocab.put(c + BpeModel.END_OF_WORD, vocab.size());
        }
        for (String[] m : merges) {
            vocab.putIfAbsent(m[0] + m[1], vocab.size());
        }
        vocab.put(START_OF_TEXT, vocab.size());
        vocab.put(END_OF_TEXT, vocab.size());
        return create(vocab, merges, List.of(), source, DEFAULT_CONTEXT_LENGTH, -1);
    }

    private static String[] splitMerge(String line) {
        int space = line.indexOf(' ');
        if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0 || line.indexOf('\t') >= 0) {
            return null;
        }
        return new String[] {line.substring(0, space), line.substring(space + 1)};
    }

    /**
     * Reads HuggingFace's {@code vocab.json} (token -> id) and {@code merges.txt} ("a b" per line,
     * optional #version header).
     *
     * @param vocabJson the vocabulary file
     * @param mergesTxt the merges file
     * @return the tokenizer
     */
    public static ClipTokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt) {
        Map<String, Integer> vocab = new HashMap<>();
        try {
            JsonNode root = TokenizerJson.mapper().readTree(vocabJson.toFile());
            if (root == null || !root.isObject()) {
                throw new TokenizerFormatException(vocabJson + ": expected a JSON object of token -> id");
            }
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().canConvertToInt()) {
                    throw TokenizerFormatException.field(vocabJson.toString(), e.getKey(), "expected an integer id");
                }
                vocab.put(e.getKey(), e.getValue().asInt());
            }
        } catch (IOException e) {
            throw new TokenizerFormatException(vocabJson + ": cannot read vocab.json: " + e.getMessage(), e);
        }
        List<String[]> merges = new ArrayList<>();
        for (String line : readMergeLines(mergesTxt)) {
            merges.add(line.split(" "));
        }
        return create(vocab, merges, List.of(), vocabJson.toString(), DEFAULT_CONTEXT_LENGTH, -1);
    }

    /**
     * The merge lines of a {@code merges.txt}, as written: blank lines and a first-line #version
     * header skipped, every other line checked to be two tokens separated by one space.
     */
    static List<String> readMergeLines(Path mergesTxt) {
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(mergesTxt, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if ((lineNo == 1 && line.startsWith("#version")) || line.isEmpty()) {
                    continue;
                }
                if (line.split(" ").length != 2) {
                    throw new TokenizerFormatException(mergesTxt + ": line " + lineNo + ": expected 'a b', got '" + line + "'");
                }
                lines.add(line);
            }
        } catch (IOException e) {
            throw new TokenizerFormatException(mergesTxt + ": cannot read merges.txt: " + e.getMessage(), e);
        }
        return lines;
    }

    /**
     * Reads a HuggingFace {@code tokenizer.json} with a CLIP-style BPE model.
     *
     * @param file the tokenizer file
     * @return the tokenizer
     */
    public static ClipTokenizer fromTokenizerJson(Path file) {
        return fromTokenizerJson(TokenizerJson.read(file), file.toString());
    }

    static ClipTokenizer fromTokenizerJson(JsonNode root, String source) {
        return fromTokenizerJson(root, null, source);
    }

    /**
     * @param big when not null, {@code model.vocab} and {@code model.merges} already read (and
     *            emptied in {@code root}) by {@link BpeSections}
     */
    static ClipTokenizer fromTokenizerJson(JsonNode root, BpeSections big, String source) {
        JsonNode model = TokenizerJson.model(root, "BPE", source);
        String suffix = model.path("end_of_word_suffix").asText("");
        if (!suffix.equals(BpeModel.END_OF_WORD)) {
            throw TokenizerFormatException.field(source, "model.end_of_word_suffix", "is '" + suffix
                    + "'; only CLIP-style BPE is supported, which expects '</w>'");
        }
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject()) {
            throw TokenizerFormatException.field(source, "model.vocab", "expected an object of token -> id");
        }
        Map<String, Integer> vocab = big != null ? big.vocab : new HashMap<>();
        vocabNode.fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        JsonNode mergesNode = model.path("merges");
        if (!mergesNode.isArray()) {
            throw TokenizerFormatException.field(source, "model.merges", "expected an array of \"a b\" strings or [a, b] pairs");
        }
        List<String[]> merges = big != null ? big.merges : new ArrayList<>(mergesNode.size());
        int i = 0;
        for (JsonNode m : mergesNode) {
            String[] pair;
            if (m.isTextual()) {
                pair = m.asText().split(" ");
            } else if (m.isArray() && m.size() == 2) {
                pair = new String[] {m.get(0).asText(), m.get(1).asText()};
            } else {
                pair = new String[0];
            }
            if (pair.length != 2) {
                throw TokenizerFormatException.field(source, "model.merges[" + i + "]", "expected \"a b\" or [a, b], got " + m);
            }
            merges.add(pair);
            i++;
        }
        List<String> specials = new ArrayList<>();
        for (TokenizerJson.AddedToken t : TokenizerJson.addedTokens(root, source)) {
            vocab.putIfAbsent(t.content(), t.id());
            specials.add(t.content());
        }
        int unk = -1;
        if (model.path("unk_token").isTextual()) {
            unk = vocab.getOrDefault(model.get("unk_token").asText(), -1);
        }
        ClipTokenizer t = create(vocab, merges, specials, source, TokenizerJson.maxLength(root, DEFAULT_CONTEXT_LENGTH), unk);
        TokenizerJson.Template template = TokenizerJson.template(root, source);
        if (template != null && (template.prefix().length != 1 || template.prefix()[0] != t.specialIds().bos()
                || template.suffix().length != 1 || template.suffix()[0] != t.specialIds().eos())) {
            throw TokenizerFormatException.field(source, "post_processor", "expected to add " + START_OF_TEXT
                    + " before and " + END_OF_TEXT + " after the text, as CLIP does");
        }
        int pad = TokenizerJson.padId(root, t.specialIds().eos());
        return pad == t.specialIds().pad() ? t : t.withPadId(pad);
    }

    private static ClipTokenizer create(Map<String, Integer> vocab, List<String[]> merges, List<String> addedSpecials,
                                        String source, int contextLength, int unk) {
        Integer bos = vocab.get(START_OF_TEXT);
        Integer eos = vocab.get(END_OF_TEXT);
        if (bos == null || eos == null) {
            throw new TokenizerFormatException(source + ": the vocabulary has no " + (bos == null ? START_OF_TEXT : END_OF_TEXT)
                    + " token; expected CLIP's start and end tokens");
        }
        List<String> specials = new ArrayList<>(addedSpecials);
        for (String s : List.of(START_OF_TEXT, END_OF_TEXT)) {
            if (!specials.contains(s)) {
                specials.add(s);
            }
        }
        // CLIP's reference maps a byte missing from the vocabulary to nothing it could; HF uses the end token
        int unknown = unk >= 0 ? unk : eos;
        BpeModel model = new BpeModel(vocab, merges, unknown, source);
        return new ClipTokenizer(model, specials, new SpecialIds(bos, eos, eos, unknown), contextLength);
    }

    /**
     * The same tokenizer padding with {@code padId} (CLIP uses its end token 49407; some models use 0).
     *
     * @param padId the padding id
     * @return a new tokenizer
     */
    public ClipTokenizer withPadId(int padId) {
        SpecialIds s = specialIds();
        return new ClipTokenizer(model, specialPieces, new SpecialIds(s.bos(), s.eos(), padId, s.unk()), contextLength());
    }

    /**
     * The same tokenizer with another context length (ids per {@link #encodeToContext}).
     *
     * @param contextLength the number of ids
     * @return a new tokenizer
     */
    public ClipTokenizer withContextLength(int contextLength) {
        return new ClipTokenizer(model, specialPieces, specialIds(), contextLength);
    }

    @Override
    public int vocabSize() {
        return model.size();
    }

    @Override
    public String normalize(String text) {
        return ClipText.normalize(text).text();
    }

    @Override
    String tokenString(int id) {
        String t = model.token(id);
        return t == null ? "" : t;
    }

    @Override
    TokenList tokenize(String text) {
        AlignedString norm = ClipText.normalize(text);
        String s = norm.text();
        TokenList out = new TokenList();
        ClipText.split(s, specialPieces, (start, end, special) -> {
            if (special != null) {
                out.add(model.id(special), special, norm.originalStart(start, end), norm.originalEnd(start, end));
                return;
            }
            String piece = s.substring(start, end);
            BpeModel.Word w = model.word(piece);
            int[] charOfByte = charOfByte(piece);
            int byteStart = 0;
            for (int k = 0; k < w.ids().length; k++) {
                int byteEnd = w.byteEnds()[k];
                int from = start + (charOfByte == null ? byteStart : charOfByte[byteStart]);
                int lastChar = charOfByte == null ? byteEnd - 1 : charOfByte[byteEnd - 1];
                int to = start + lastChar + Character.charCount(piece.codePointAt(lastChar));
                int id = w.ids()[k];
                out.add(id, model.token(id), norm.originalStart(from, to), norm.originalEnd(from, to));
                byteStart = byteEnd;
            }
        });
        return out;
    }

    /**
     * For each UTF-8 byte of {@code piece}, the index of the char it encodes; null if all ASCII
     * (identity). Bytes as {@code String.getBytes(UTF_8)} makes them, which is what the BPE model
     * merges: a lone surrogate becomes the one byte {@code '?'}.
     */
    private static int[] charOfByte(String piece) {
        boolean ascii = true;
        for (int i = 0; i < piece.length() && ascii; i++) {
            ascii = piece.charAt(i) < 0x80;
        }
        if (ascii) {
            return null;
        }
        int[] map = new int[piece.length() * 3]; // at most 3 bytes per char (4 per surrogate pair)
        int b = 0;
        for (int i = 0; i < piece.length(); ) {
            int cp = piece.codePointAt(i);
            boolean lone = cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE;
            int n = cp < 0x80 || lone ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            for (int k = 0; k < n; k++) {
                map[b++] = i;
            }
            i += Character.charCount(cp);
        }
        return java.util.Arrays.copyOf(map, b);
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (skipOnDecode.contains(id)) {
                continue;
            }
            String t = model.token(id);
            if (t == null) {
                continue;
            }
            boolean endOfWord = t.endsWith(BpeModel.END_OF_WORD);
            if (endOfWord) {
                t = t.substring(0, t.length() - BpeModel.END_OF_WORD.length());
            }
            for (int i = 0; i < t.length(); i++) {
                int b = ByteUnicode.decode(t.charAt(i));
                if (b >= 0) {
                    bytes.write(b);
                } else {
                    bytes.writeBytes(String.valueOf(t.charAt(i)).getBytes(StandardCharsets.UTF_8));
                }
            }
            if (endOfWord) {
                bytes.write(' ');
            }
        }
        return bytes.toString(StandardCharsets.UTF_8).strip();
    }
}
