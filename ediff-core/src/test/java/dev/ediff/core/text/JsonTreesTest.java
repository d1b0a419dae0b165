package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link JsonTrees} builds the tree {@code ObjectMapper.readTree} builds, node class for node class. */
class JsonTreesTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Same value and same node class everywhere (JsonNode.equals alone lets 1.0 equal 1.0f, etc.). */
    private static void assertSameTree(JsonNode expected, JsonNode actual, String where) {
        assertEquals(expected.getClass(), actual.getClass(), where);
        assertEquals(expected, actual, where);
        if (expected.isObject()) {
            assertEquals(List.copyOf(names(expected)), List.copyOf(names(actual)), where + ": key order");
            for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                assertSameTree(e.getValue(), actual.get(e.getKey()), where + "." + e.getKey());
            }
        } else if (expected.isArray()) {
            for (int i = 0; i < expected.size(); i++) {
                assertSameTree(expected.get(i), actual.get(i), where + "[" + i + "]");
            }
        }
    }

    private static List<String> names(JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void buildsTheTreeObjectMapperBuilds() throws IOException {
        for (String json : List.of("{}", "[]", "{\"a\": 1, \"b\": [1, 2.5, -3e-4, 1E10, 0.002, 80.0, true, false, null, \"x\\u00e9\\n\"]}",
                "{\"i\": 2147483647, \"j\": 2147483648, \"k\": -9223372036854775808, \"l\": 9223372036854775808,"
                        + " \"m\": 123456789012345678901234567890, \"f\": 1.7976931348623157E308, \"g\": 4.9E-324}",
                "{\"dup\": 1, \"dup\": {\"x\": 2}}", "{\"a\": {\"b\": {\"c\": [[], [{}], [[1]]]}}}", "3", "\"text\"", "null",
                "  \n ", "", "{} trailing", "[1] [2]", "{\"z\": 1, \"a\": 2, \"m\": 3}")) {
            byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
            assertSameTree(MAPPER.readTree(bytes), JsonTrees.read(bytes), json);
        }
    }

    @Test
    void refusesWhatObjectMapperRefuses() {
        for (String json : List.of("{", "{\"a\": }", "[1,]", "{a: 1}", "{\"a\": NaN}", "tru", "{\"a\": 1,}", "\"open")) {
            byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
            Exception mapper = assertThrows(IOException.class, () -> MAPPER.readTree(bytes), json);
            Exception trees = assertThrows(IOException.class, () -> JsonTrees.read(bytes), json);
            assertEquals(mapper.getClass(), trees.getClass(), json);
        }
    }

    @Test
    void theDefaultBundlesJsonFilesGiveTheSameTrees() throws IOException {
        Path bundle = Path.of("..", "ediff-model-mini", "src", "main", "resources", "dev", "ediff", "models", "default");
        int checked = 0;
        for (String file : List.of("manifest.json", "t5/tokenizer.json", "clip/tokenizer.json")) {
            Path f = bundle.resolve(file);
            if (Files.isRegularFile(f)) {
                byte[] bytes = Files.readAllBytes(f);
                assertSameTree(MAPPER.readTree(bytes), JsonTrees.read(bytes), file);
                checked++;
            }
        }
        assertTrue(checked == 0 || checked == 3, "found " + checked + " of the 3 files");
    }
}
