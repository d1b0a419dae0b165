package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Reading the parts of a HuggingFace {@code tokenizer.json} that every model type shares. */
final class TokenizerJson {

    /** Made on first use: most loads read their JSON with {@link JsonTrees} and need no mapper. */
    private static final class Holder {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private TokenizerJson() {
    }

    /** An entry of {@code added_tokens}. */
    record AddedToken(int id, String content, boolean special) {
    }

    /** Special ids the post-processor puts before and after a single sequence. */
    record Template(int[] prefix, int[] suffix) {
    }

    static JsonNode read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TokenizerFormatException(file + ": no such file (expected a HuggingFace tokenizer.json)");
        }
        try {
            JsonNode root = Holder.MAPPER.readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new TokenizerFormatException(file + ": expected a JSON object (a HuggingFace tokenizer.json)");
            }
            return root;
        } catch (IOException e) {
            throw new TokenizerFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    static ObjectMapper mapper() {
        return Holder.MAPPER;
    }

    /** The {@code model} object, checked to be of {@code type}. */
    static JsonNode model(JsonNode root, String type, String source) {
        JsonNode model = root.path("model");
        if (!model.isObject()) {
            throw TokenizerFormatException.field(source, "model", "missing; expected an object with a \"type\"");
        }
        String actual = model.path("type").asText("");
        if (!actual.equals(type)) {
            throw TokenizerFormatException.field(source, "model.type", "is '" + actual + "'; expected '" + type + "'");
        }
        return model;
    }

    static List<AddedToken> addedTokens(JsonNode root, String source) {
        List<AddedToken> out = new ArrayList<>();
        JsonNode added = root.path("added_tokens");
        if (added.isMissingNode() || added.isNull()) {
            return out;
        }
        if (!added.isArray()) {
            throw TokenizerFormatException.field(source, "added_tokens", "expected an array");
        }
        int i = 0;
        for (JsonNode t : added) {
            if (!t.path("id").canConvertToInt() || !t.path("content").isTextual()) {
                throw TokenizerFormatException.field(source, "added_tokens[" + i + "]", "expected {\"id\": int, \"content\": string}");
            }
            out.add(new AddedToken(t.get("id").asInt(), t.get("content").asText(), t.path("special").asBoolean(false)));
            i++;
        }
        return out;
    }

    /** The {@code padding.pad_id} if the file sets padding, else {@code fallback}. */
    static int padId(JsonNode root, int fallback) {
        JsonNode p = root.path("padding");
        return p.isObject() && p.path("pad_id").canConvertToInt() ? p.get("pad_id").asInt() : fallback;
    }

    /** The {@code truncation.max_length} if the file sets truncation, else {@code fallback}. */
    static int maxLength(JsonNode root, int fallback) {
        JsonNode t = root.path("truncation");
        return t.isObject() && t.path("max_length").canConvertToInt() ? t.get("max_length").asInt() : fallback;
    }

    /**
     * The special tokens of the post-processor for a single sequence, or null when there is no
     * post-processor. Understands TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel
     * (adds nothing) and a Sequence of those.
     */
    static Template template(JsonNode root, String source) {
        JsonNode pp = root.path("post_processor");
        if (pp.isMissingNode() || pp.isNull()) {
            return null;
        }
        return template(pp, source, "post_processor");
    }

    private static Template template(JsonNode pp, String source, String field) {
        String type = pp.path("type").asText("");
        switch (type) {
            case "TemplateProcessing": {
                JsonNode single = pp.path("single");
                if (!single.isArray()) {
                    throw TokenizerFormatException.field(source, field + ".single", "expected an array of template items");
                }
                List<Integer> prefix = new ArrayList<>();
                List<Integer> suffix = new ArrayList<>();
                boolean seenSequence = false;
                for (JsonNode item : single) {
                    if (item.has("Sequence")) {
                        seenSequence = true;
                    } else if (item.has("SpecialToken")) {
                        String name = item.get("SpecialToken").path("id").asText();
                        JsonNode st = pp.path("special_tokens").path(name);
                        if (!st.path("ids").isArray()) {
                            throw TokenizerFormatException.field(source, field + ".special_tokens." + name,
                                    "missing; expected {\"ids\": [...]} for a token used in the template");
                        }
                        for (JsonNode id : st.get("ids")) {
                            (seenSequence ? suffix : prefix).add(id.asInt());
                        }
                    } else {
                        throw TokenizerFormatException.field(source, field + ".single", "unknown item " + item);
                    }
                }
                return new Template(toArray(prefix), toArray(suffix));
            }
            case "RobertaProcessing":
            case "BertProcessing": {
                JsonNode cls = pp.path("cls");
                JsonNode sep = pp.path("sep");
                if (!cls.path(1).canConvertToInt() || !sep.path(1).canConvertToInt()) {
                    throw TokenizerFormatException.field(source, field + ".cls/sep", "expected [token, id] pairs");
                }
                return new Template(new int[] {cls.get(1).asInt()}, new int[] {sep.get(1).asInt()});
            }
            case "ByteLevel":
                return new Template(new int[0], new int[0]);
            case "Sequence": {
                Template result = new Template(new int[0], new int[0]);
                Iterator<JsonNode> it = pp.path("processors").elements();
                int i = 0;
                while (it.hasNext()) {
                    Template t = template(it.next(), source, field + ".processors[" + i++ + "]");
                    if (t.prefix().length + t.suffix().length > 0) {
                        result = t;
                    }
                }
                return result;
            }
            default:
                throw TokenizerFormatException.field(source, field + ".type", "'" + type
                        + "' is not supported; expected TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel or Sequence");
        }
    }

    private static int[] toArray(List<Integer> list) {
        return list.stream().mapToInt(Integer::intValue).toArray();
    }
}
