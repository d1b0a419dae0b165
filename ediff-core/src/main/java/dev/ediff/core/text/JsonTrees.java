package dev.ediff.core.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * A JSON document as a {@link JsonNode} tree, read with Jackson's streaming parser and node factory
 * only. {@code new ObjectMapper().readTree(bytes)} builds the same tree, but its first use in a JVM
 * loads and initialises Jackson's data-binding machinery (some 600 classes, about a third of a second
 * of a cold command line's start) to find the tree deserializer; the manifest and the tokenizer
 * files need none of it. Same result as {@code readTree} with the default settings: integers as
 * int, long or big-integer nodes by size, other numbers as double nodes, the last of duplicated keys
 * kept, nothing read after the first value, and {@code MissingNode} for empty input; the parser's
 * errors are the same exceptions.
 */
public final class JsonTrees {

    private static final JsonFactory FACTORY = new JsonFactory();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private JsonTrees() {
    }

    /**
     * Reads one JSON value.
     *
     * @param json the document's bytes (UTF-8, or another encoding Jackson detects)
     * @return its tree; {@code MissingNode} when there is no value
     * @throws IOException when the document is not valid JSON (Jackson's parser exception)
     */
    public static JsonNode read(byte[] json) throws IOException {
        try (JsonParser p = FACTORY.createParser(json)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                return NODES.missingNode();
            }
            return value(p, t);
        }
    }

    private static JsonNode value(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT: {
                ObjectNode o = NODES.objectNode();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    o.set(name, value(p, p.nextToken()));
                }
                return o;
            }
            case START_ARRAY: {
                ArrayNode a = NODES.arrayNode();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) {
                    a.add(value(p, v));
                }
                return a;
            }
            case VALUE_STRING:
                return NODES.textNode(p.getText());
            case VALUE_NUMBER_INT:
                switch (p.getNumberType()) {
                    case INT:
                        return NODES.numberNode(p.getIntValue());
                    case LONG:
                        return NODES.numberNode(p.getLongValue());
                    default:
                        return NODES.numberNode(p.getBigIntegerValue());
                }
            case VALUE_NUMBER_FLOAT:
                return NODES.numberNode(p.getDoubleValue());
            case VALUE_TRUE:
                return NODES.booleanNode(true);
            case VALUE_FALSE:
                return NODES.booleanNode(false);
            case VALUE_NULL:
                return NODES.nullNode();
            default:
                throw new IOException("unexpected JSON token " + t + " at " + p.currentLocation());
        }
    }
}
