package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a tokenizer from the standard file formats. */
public final class Tokenizers {

    private Tokenizers() {
    }

    /**
     * Opens {@code path}: a HuggingFace {@code tokenizer.json} (model type BPE: {@link ClipTokenizer},
     * Unigram: {@link UnigramTokenizer}); an original CLIP {@code .txt.gz} merges file; or a directory
     * holding either a {@code tokenizer.json} or {@code vocab.json} + {@code merges.txt}.
     *
     * @param path the file or folder
     * @return the tokenizer
     * @throws TokenizerFormatException naming the file, the field and what was expected
     */
    public static Tokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve("tokenizer.json"))) {
                return load(path.resolve("tokenizer.json"));
            }
            if (Files.isRegularFile(path.resolve("vocab.json")) && Files.isRegularFile(path.resolve("merges.txt"))) {
                return ClipTokenizer.fromVocabAndMerges(path.resolve("vocab.json"), path.resolve("merges.txt"));
            }
            throw new TokenizerFormatException(path + ": directory holds neither tokenizer.json nor vocab.json + merges.txt");
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".gz")) {
            return ClipTokenizer.fromBpeGz(path);
        }
        if (!Files.isRegularFile(path)) {
            throw new TokenizerFormatException(path + ": no such file (expected a HuggingFace tokenizer.json)");
        }
        byte[] json;
        try {
            json = Files.readAllBytes(path);
        } catch (java.io.IOException e) {
            throw new TokenizerFormatException(path + ": cannot read: " + e.getMessage(), e);
        }
        return load(json, path.toString());
    }

    /**
     * Opens a HuggingFace {@code tokenizer.json} held in memory (a bundle on the classpath).
     *
     * @param tokenizerJson the file's bytes
     * @param source        names the file in error messages
     * @return the tokenizer
     */
    public static Tokenizer load(byte[] tokenizerJson, String source) {
        // A BPE file's vocabulary and merges are most of its bytes: read them with a byte scanner and
        // only the rest as a JSON tree (BpeSections answers null for anything but the plain layout).
        BpeSections big = BpeSections.split(tokenizerJson);
        if (big != null) {
            JsonNode rest = tree(big.rest);
            if (rest != null && rest.isObject() && rest.path("model").path("type").asText("").equals("BPE")) {
                return ClipTokenizer.fromTokenizerJson(rest, big, source);
            }
        }
        JsonNode root;
        try {
            root = JsonTrees.read(tokenizerJson);
        } catch (java.io.IOException e) {
            throw new TokenizerFormatException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerFormatException(source + ": expected a JSON object (a tokenizer.json)");
        }
        return fromJson(root, source);
    }

    /** The tree of {@code json}, or null when it does not parse (the caller then reports on the whole file). */
    private static JsonNode tree(byte[] json) {
        try {
            return JsonTrees.read(json);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static Tokenizer fromJson(JsonNode root, String source) {
        JsonNode model = root.path("model");
        if (!model.isObject() || !model.path("type").isTextual()) {
            throw TokenizerFormatException.field(source, "model.type", "missing; expected \"BPE\" (CLIP) or \"Unigram\" (T5)");
        }
        String type = model.get("type").asText();
        return switch (type) {
            case "BPE" -> ClipTokenizer.fromTokenizerJson(root, source);
            case "Unigram" -> UnigramTokenizer.fromTokenizerJson(root, source);
            default -> throw TokenizerFormatException.field(source, "model.type", "'" + type
                    + "' is not supported; expected \"BPE\" (CLIP) or \"Unigram\" (T5)");
        };
    }
}
