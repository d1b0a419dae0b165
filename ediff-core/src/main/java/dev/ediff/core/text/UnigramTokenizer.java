package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * T5's SentencePiece Unigram tokenizer, read from a HuggingFace {@code tokenizer.json}, in pure Java:
 * added tokens (e.g. {@code <extra_id_0>}, {@code </s>}) are cut out of the raw text first, the rest
 * goes through the file's normalizer (see {@link TextNormalizer} for what is supported and how
 * Precompiled is handled), the Metaspace pre-tokenizer, and Viterbi segmentation; the post-processor
 * template appends {@code </s>}. Padding uses {@code padding.pad_id} from the file, else 0.
 *
 * <p>Differences from HuggingFace: added tokens are matched on the raw text (their
 * {@code normalized}, {@code lstrip}, {@code rstrip} and {@code single_word} flags are ignored),
 * and byte fallback is not supported (a file asking for it is rejected).
 */
public final class UnigramTokenizer extends BaseTokenizer {

    /** T5's encoder context, used when the file sets no truncation. */
    public static final int DEFAULT_CONTEXT_LENGTH = 512;

    private final UnigramModel model;
    private final TextNormalizer normalizer;
    private final PreTokenizer preTokenizer;
    /** Added tokens, longest content first so the longest match wins at a position. */
    private final List<TokenizerJson.AddedToken> added;
    /** First chars of the added tokens: most positions of a text can skip the added-token scan. */
    private final Set<Character> addedFirstChars = new HashSet<>();
    private final Map<Integer, String> addedById = new HashMap<>();
    private final Set<Integer> skipOnDecode = new HashSet<>();
    private final int vocabSize;

    private UnigramTokenizer(UnigramModel model, TextNormalizer normalizer, PreTokenizer preTokenizer,
                             List<TokenizerJson.AddedToken> added, int[] prefix, int[] suffix, SpecialIds ids,
                             int contextLength) {
        super(prefix, suffix, ids, contextLength);
        this.model = model;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        List<TokenizerJson.AddedToken> sorted = new ArrayList<>(added);
        sorted.removeIf(t -> t.content().isEmpty());
        sorted.sort(Comparator.comparingInt((TokenizerJson.AddedToken t) -> t.content().length()).reversed());
        this.added = List.copyOf(sorted);
        sorted.forEach(t -> addedFirstChars.add(t.content().charAt(0)));
        int size = model.size();
        for (TokenizerJson.AddedToken t : added) {
            addedById.put(t.id(), t.content());
            if (t.special()) {
                skipOnDecode.add(t.id());
            }
            size = Math.max(size, t.id() + 1);
        }
        for (int id : new int[] {ids.bos(), ids.eos(), ids.pad()}) {
            if (id >= 0) {
                skipOnDecode.add(id);
            }
        }
        this.vocabSize = size;
    }

    /**
     * Reads a HuggingFace {@code tokenizer.json} whose model is Unigram.
     *
     * @param file the tokenizer file
     * @return the tokenizer
     */
    public static UnigramTokenizer fromTokenizerJson(Path file) {
        return fromTokenizerJson(TokenizerJson.read(file), file.toString());
    }

    static UnigramTokenizer fromTokenizerJson(JsonNode root, String source) {
        JsonNode m = TokenizerJson.model(root, "Unigram", source);
        if (m.path("byte_fallback").asBoolean(false)) {
            throw TokenizerFormatException.field(source, "model.byte_fallback", "is true; byte fallback is not supported (expected false)");
        }
        JsonNode vocab = m.path("vocab");
        if (!vocab.isArray() || vocab.isEmpty()) {
            throw TokenizerFormatException.field(source, "model.vocab", "expected a non-empty array of [piece, score] pairs");
        }
        String[] pieces = new String[vocab.size()];
        double[] scores = new double[vocab.size()];
        for (int i = 0; i < pieces.length; i++) {
            JsonNode e = vocab.get(i);
            if (!e.isArray() || e.size() != 2 || !e.get(0).isTextual() || !e.get(1).isNumber()) {
                throw TokenizerFormatException.field(source, "model.vocab[" + i + "]", "expected [piece, score], got " + e);
            }
            pieces[i] = e.get(0).asText();
            scores[i] = e.get(1).asDouble();
        }
        int unk = SpecialIds.NONE;
        JsonNode unkNode = m.path("unk_id");
        if (unkNode.canConvertToInt()) {
            unk = unkNode.asInt();
            if (unk < 0 || unk >= pieces.length) {
                throw TokenizerFormatException.field(source, "model.unk_id", unk + " is outside the vocabulary of " + pieces.length);
            }
        } else if (!unkNode.isMissingNode() && !unkNode.isNull()) {
            throw TokenizerFormatException.field(source, "model.unk_id", "expected an integer or null");
        }
        UnigramModel model = new UnigramModel(pieces, scores, unk);
        TextNormalizer normalizer = TextNormalizer.parse(root.get("normalizer"), source, "normalizer");
        PreTokenizer pre = PreTokenizer.parse(root.get("pre_tokenizer"), source, "pre_tokenizer");
        List<TokenizerJson.AddedToken> added = TokenizerJson.addedTokens(root, source);
        TokenizerJson.Template template = TokenizerJson.template(root, source);
        int[] prefix = template == null ? new int[0] : template.prefix();
        int[] suffix = template == null ? new int[0] : template.suffix();
        int bos = prefix.length > 0 ? prefix[prefix.length - 1] : SpecialIds.NONE;
        int eos = suffix.length > 0 ? suffix[suffix.length - 1] : idOf("</s>", pieces, added);
        int pad = TokenizerJson.padId(root, 0);
        return new UnigramTokenizer(model, normalizer, pre, added, prefix, suffix, new SpecialIds(bos, eos, pad, unk),
                TokenizerJson.maxLength(root, DEFAULT_CONTEXT_LENGTH));
    }

    private static int idOf(String token, String[] pieces, List<TokenizerJson.AddedToken> added) {
        for (TokenizerJson.AddedToken t : added) {
            if (t.content().equals(token)) {
                return t.id();
            }
        }
        for (int i = 0; i < pieces.length; i++) {
            if (pieces[i].equals(token)) {
                return i;
            }
        }
        return SpecialIds.NONE;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String normalize(String text) {
        return normalizer.apply(AlignedString.of(text)).text();
    }

    @Override
    String tokenString(int id) {
        String a = addedById.get(id);
        if (a != null) {
            return a;
        }
        return id >= 0 && id < model.size() ? model.piece(id) : "";
    }

    @Override
    TokenList tokenize(String text) {
        TokenList out = new TokenList();
        AlignedString original = AlignedString.of(text);
        int segmentStart = 0;
        int i = 0;
        while (i < text.length()) {
            TokenizerJson.AddedToken match = addedAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            tokenizeSegment(original.substring(segmentStart, i), out);
            out.add(match.id(), match.content(), i, i + match.content().length());
            i += match.content().length();
            segmentStart = i;
        }
        tokenizeSegment(original.substring(segmentStart, text.length()), out);
        return out;
    }

    private TokenizerJson.AddedToken addedAt(String text, int i) {
        if (!addedFirstChars.contains(text.charAt(i))) {
            return null;
        }
        for (TokenizerJson.AddedToken t : added) {
            if (text.startsWith(t.content(), i)) {
                return t;
            }
        }
        return null;
    }

    private void tokenizeSegment(AlignedString segment, TokenList out) {
        if (segment.length() == 0) {
            return;
        }
        AlignedString normalized = normalizer.apply(segment);
        if (normalized.length() == 0) {
            return;
        }
        for (AlignedString piece : preTokenizer.apply(normalized)) {
            for (UnigramModel.Span s : model.segment(piece.text())) {
                out.add(s.id(), model.piece(s.id()), piece.originalStart(s.start(), s.end()), piece.originalEnd(s.start(), s.end()));
            }
        }
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            if (!skipOnDecode.contains(id)) {
                sb.append(tokenString(id));
            }
        }
        char r = preTokenizer.replacement();
        String s = r == 0 ? sb.toString() : sb.toString().replace(r, ' ');
        // Metaspace's decoder drops the space it prepended
        if (r != 0 && preTokenizer.prepend() != PreTokenizer.Prepend.NEVER && s.startsWith(" ")) {
            s = s.substring(1);
        }
        return s;
    }
}
