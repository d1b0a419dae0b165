package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens the tokenizer folders of a Hugging Face diffusers model ({@code tokenizer/},
 * {@code tokenizer_2/}, {@code tokenizer_3/}) the way transformers does: {@code tokenizer.json} when
 * present; else SentencePiece's {@code spiece.model} (T5), read directly; else CLIP's
 * {@code vocab.json} + {@code merges.txt} with the special tokens of {@code special_tokens_map.json}
 * / {@code tokenizer_config.json}.
 *
 * <p>The special tokens matter for parity: SD 2.x and SDXL's second tokenizer pad with {@code !}, and
 * transformers treats every special token as one that is cut out of the prompt, so {@code "cat!"}
 * becomes {@code cat</w>} + {@code !} (the pad id), not {@code cat</w>} + {@code !</w>}.
 */
public final class TokenizerFolder {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private TokenizerFolder() {
    }

    /**
     * The tokenizer in {@code folder}: {@code tokenizer.json} first, else {@code spiece.model}, else
     * {@code vocab.json} + {@code merges.txt}.
     *
     * @param folder a tokenizer folder of a diffusers export (e.g. {@code tokenizer_2/})
     * @return the tokenizer
     * @throws TokenizerFormatException naming the folder and the files that would be accepted
     */
    public static Tokenizer load(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new TokenizerFormatException(folder + ": not a directory (expected a tokenizer folder)");
        }
        if (Files.isRegularFile(folder.resolve("tokenizer.json"))) {
            return Tokenizers.load(folder.resolve("tokenizer.json"));
        }
        if (Files.isRegularFile(folder.resolve("spiece.model"))) {
            return fromSentencePiece(folder.resolve("spiece.model"), config(folder));
        }
        if (Files.isRegularFile(folder.resolve("vocab.json")) && Files.isRegularFile(folder.resolve("merges.txt"))) {
            return fromClipFiles(folder);
        }
        throw new TokenizerFormatException(folder + ": holds no tokenizer.json, spiece.model or vocab.json + merges.txt");
    }

    /**
     * CLIP's BPE from {@code vocab.json} + {@code merges.txt}, padded with the {@code pad_token} of
     * {@code special_tokens_map.json} or {@code tokenizer_config.json} (default {@code <|endoftext|>}),
     * to {@code model_max_length} (default 77).
     *
     * @param folder the folder holding {@code vocab.json} and {@code merges.txt}
     * @return the CLIP tokenizer
     */
    public static ClipTokenizer fromClipFiles(Path folder) {
        Path vocabFile = folder.resolve("vocab.json");
        Path mergesFile = folder.resolve("merges.txt");
        JsonNode vocab;
        try {
            vocab = TokenizerJson.mapper().readTree(vocabFile.toFile());
        } catch (IOException e) {
            throw new TokenizerFormatException(vocabFile + ": cannot read vocab.json: " + e.getMessage(), e);
        }
        if (vocab == null || !vocab.isObject()) {
            throw new TokenizerFormatException(vocabFile + ": expected a JSON object of token -> id");
        }
        ArrayNode merges = JSON.arrayNode();
        ClipTokenizer.readMergeLines(mergesFile).forEach(merges::add);
        JsonNode cfg = config(folder);
        String bos = token(cfg, "bos_token", ClipTokenizer.START_OF_TEXT);
        String eos = token(cfg, "eos_token", ClipTokenizer.END_OF_TEXT);
        String pad = token(cfg, "pad_token", eos);
        String unk = token(cfg, "unk_token", eos);
        ObjectNode root = JSON.objectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").put("end_of_word_suffix", "</w>").put("unk_token", unk);
        model.set("vocab", vocab);
        model.set("merges", merges);
        ArrayNode added = root.putArray("added_tokens");
        for (String special : new String[] {bos, eos, pad, unk}) {
            JsonNode id = vocab.get(special);
            if (id == null || !id.canConvertToInt()) {
                throw new TokenizerFormatException(vocabFile + ": the special token '" + special
                        + "' named by the tokenizer config is not in the vocabulary");
            }
            boolean seen = false;
            for (JsonNode a : added) {
                seen |= a.get("content").asText().equals(special);
            }
            if (!seen) {
                added.addObject().put("id", id.asInt()).put("content", special).put("special", true);
            }
        }
        ObjectNode pp = root.putObject("post_processor");
        pp.put("type", "TemplateProcessing");
        ArrayNode single = pp.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", bos);
        single.addObject().putObject("Sequence").put("id", "A");
        single.addObject().putObject("SpecialToken").put("id", eos);
        ObjectNode specials = pp.putObject("special_tokens");
        specials.putObject(bos).putArray("ids").add(vocab.get(bos).asInt());
        specials.putObject(eos).putArray("ids").add(vocab.get(eos).asInt());
        root.putObject("padding").put("pad_id", vocab.get(pad).asInt());
        root.putObject("truncation").put("max_length", maxLength(cfg, ClipTokenizer.DEFAULT_CONTEXT_LENGTH));
        return ClipTokenizer.fromTokenizerJson(root, vocabFile.toString());
    }

    /**
     * A T5-style SentencePiece Unigram model read directly from {@code spiece.model}: its pieces and
     * scores, its unknown / end / padding ids, its normalizer ({@code nmt_nfkc} as
     * {@link TextNormalizer} handles Precompiled) and whitespace handling; {@code </s>} appended.
     *
     * @param spieceModel     the {@code spiece.model} protobuf file
     * @param tokenizerConfig {@code tokenizer_config.json} (may be empty): {@code model_max_length}
     * @return the Unigram tokenizer
     */
    public static UnigramTokenizer fromSentencePiece(Path spieceModel, JsonNode tokenizerConfig) {
        SentencePieceModel sp = SentencePieceModel.read(spieceModel);
        String source = spieceModel.toString();
        ObjectNode root = JSON.objectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "Unigram").put("byte_fallback", sp.byteFallback());
        if (sp.unkId() >= 0) {
            model.put("unk_id", sp.unkId());
        }
        ArrayNode vocab = model.putArray("vocab");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < sp.size(); i++) {
            vocab.addArray().add(sp.piece(i)).add(sp.score(i));
            if (sp.isControlOrUnknown(i)) {
                added.addObject().put("id", i).put("content", sp.piece(i)).put("special", true);
            }
        }
        if (sp.precompiledCharsmap()) {
            root.putObject("normalizer").put("type", "Precompiled");
        }
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        if (sp.removeExtraWhitespaces()) {
            steps.addObject().put("type", "WhitespaceSplit");
        }
        steps.addObject().put("type", "Metaspace").put("replacement", "\u2581")
                .put("prepend_scheme", sp.addDummyPrefix() ? "always" : "never").put("split", true);
        if (sp.eosId() >= 0) {
            String eos = sp.piece(sp.eosId());
            ObjectNode pp = root.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            ArrayNode single = pp.putArray("single");
            single.addObject().putObject("Sequence").put("id", "A");
            single.addObject().putObject("SpecialToken").put("id", eos);
            pp.putObject("special_tokens").putObject(eos).putArray("ids").add(sp.eosId());
        }
        if (sp.padId() >= 0) {
            root.putObject("padding").put("pad_id", sp.padId());
        }
        root.putObject("truncation").put("max_length", maxLength(tokenizerConfig, UnigramTokenizer.DEFAULT_CONTEXT_LENGTH));
        return UnigramTokenizer.fromTokenizerJson(root, source);
    }

    /** tokenizer_config.json merged over special_tokens_map.json (the config wins), or an empty object. */
    private static JsonNode config(Path folder) {
        ObjectNode merged = JSON.objectNode();
        for (String name : new String[] {"special_tokens_map.json", "tokenizer_config.json"}) {
            Path f = folder.resolve(name);
            if (!Files.isRegularFile(f)) {
                continue;
            }
            try {
                JsonNode n = TokenizerJson.mapper().readTree(f.toFile());
                if (n == null || !n.isObject()) {
                    throw new TokenizerFormatException(f + ": expected a JSON object");
                }
                merged.setAll((ObjectNode) n);
            } catch (IOException e) {
                throw new TokenizerFormatException(f + ": not valid JSON: " + e.getMessage(), e);
            }
        }
        return merged;
    }

    /** A special token given as a string or as an AddedToken object {"content": ...}. */
    private static String token(JsonNode cfg, String key, String fallback) {
        JsonNode n = cfg.path(key);
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isObject() && n.path("content").isTextual()) {
            return n.get("content").asText();
        }
        return fallback;
    }

    private static int maxLength(JsonNode cfg, int fallback) {
        JsonNode n = cfg == null ? null : cfg.get("model_max_length");
        // transformers writes a huge number when the length is unset
        return n != null && n.canConvertToInt() && n.asInt() > 0 && n.asInt() <= 1_000_000 ? n.asInt() : fallback;
    }
}
