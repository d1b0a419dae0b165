package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

/**
 * Random mutations of the valid fixture manifest (deleted fields, values of another type, huge,
 * negative and non-finite numbers, empty strings, hostile paths, renamed keys, duplicated entries
 * and keys, swapped values) written into the fixture bundle and opened. The only exception that
 * may come out is the SDK's {@link EDiffException} (a {@link BundleException}), with a message
 * naming the bundle; never a NullPointerException, ClassCastException, IndexOutOfBoundsException,
 * IllegalArgumentException or a native crash. Bundles that still open must generate.
 */
class ManifestFuzzProperties {

    private static final ObjectMapper COMPACT = new ObjectMapper();
    private static Path root;
    private static FixtureBundle fixture;
    /** How the tries ended (opened, or which exception on which cause), printed after the run. */
    private static final Map<String, Integer> OUTCOMES = new TreeMap<>();

    private static synchronized FixtureBundle fixture() {
        if (fixture == null) {
            try {
                root = Files.createTempDirectory("ediff-manifest-fuzz");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            fixture = FixtureBundle.create(root.resolve("bundle"));
        }
        return fixture;
    }

    @AfterAll
    static void deleteFixture() throws IOException {
        System.out.println("manifest fuzz outcomes: " + OUTCOMES);
        if (root != null) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    enum Kind { DELETE, REPLACE, NUMBER, EMPTY_STRING, PATH, RENAME, DUPLICATE, SWAP }

    /** One mutation: what, where (an index into the manifest's nodes), and a choice of value. */
    record Mutation(Kind kind, int target, int other, int value) {
    }

    static Gen<List<Mutation>> mutations() {
        Gen<Integer> index = integers().between(0, 100_000);
        return lists().of(arbitrary().enumValues(Kind.class).zip(index, index, index, Mutation::new)).ofSizeBetween(1, 3);
    }

    @Test
    void mutatedManifestsFailOnlyWithTheSdkException() {
        qt().withExamples(200).forAll(mutations()).checkAssert(ManifestFuzzProperties::openMutated);
    }

    private static void openMutated(List<Mutation> mutations) {
        FixtureBundle f = fixture();
        String json = mutate(FixtureBundle.defaultManifest(), mutations);
        f.write(Manifest.FILE, json.getBytes(StandardCharsets.UTF_8));
        EDiff ediff;
        try {
            ediff = ModelBundle.open(f.dir, FixtureBundle.CPU);
        } catch (EDiffException expected) {
            String m = expected.getMessage();
            assertTrue(m != null && m.contains(f.dir.toString()), () -> "the message must name the bundle: " + m
                    + "\nmanifest: " + json);
            // nor may one hide inside it: a wrapped programming error is a bug that found its way out
            for (Throwable c = expected.getCause(); c != null; c = c.getCause()) {
                Throwable cause = c;
                assertTrue(!(c instanceof NullPointerException || c instanceof ClassCastException
                        || c instanceof IndexOutOfBoundsException || c instanceof ArithmeticException
                        || c instanceof IllegalStateException), () -> "a programming error behind: " + m + "\ncause: "
                        + cause + "\nmanifest: " + json);
            }
            OUTCOMES.merge(expected.getClass().getSimpleName()
                    + (expected.getCause() == null ? "" : " <- " + expected.getCause().getClass().getSimpleName()), 1, Integer::sum);
            return;
        }
        OUTCOMES.merge("opened", 1, Integer::sum);
        try (ediff) {
            Request r = Request.prompt("a red cat").seed(1).steps(2).untilStage(ediff.stages().get(0).name()).build();
            try {
                ediff.generate(r);
            } catch (EDiffException documented) {
                assertTrue(documented.getMessage() != null && !documented.getMessage().isBlank());
            }
        }
    }

    // ------------------------------------------------------------------ mutations

    /** A place in the tree: the container holding it and its key or index. */
    private record Loc(JsonNode parent, String key, int index, JsonNode node) {
        void set(JsonNode value) {
            if (parent instanceof ObjectNode o) {
                o.set(key, value);
            } else if (parent instanceof ArrayNode a) {
                a.set(index, value);
            }
        }

        void remove() {
            if (parent instanceof ObjectNode o) {
                o.remove(key);
            } else if (parent instanceof ArrayNode a) {
                a.remove(index);
            }
        }
    }

    private static void collect(JsonNode parent, String key, int index, JsonNode node, List<Loc> out) {
        out.add(new Loc(parent, key, index, node));
        if (node.isObject()) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                collect(node, k, -1, node.get(k), out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collect(node, null, i, node.get(i), out);
            }
        }
    }

    /** Raw JSON tokens that a tree cannot hold: written as strings, then replaced in the text. */
    static final String RAW_NAN = "__raw:NaN";
    static final String RAW_INF = "__raw:-1e999";
    static final String RAW_HUGE = "__raw:1" + "0".repeat(400);

    static final JsonNodeFactory F = JsonNodeFactory.instance;

    static final List<JsonNode> VALUES = List.of(
            TextNode.valueOf("x"), TextNode.valueOf(" "), TextNode.valueOf("base"), TextNode.valueOf("t5"),
            TextNode.valueOf("clip"), TextNode.valueOf("heun"), TextNode.valueOf("x0"), TextNode.valueOf("sigma"),
            TextNode.valueOf("denoised"), TextNode.valueOf("\u00e9\u4e00\ud83d\ude00"), TextNode.valueOf("a".repeat(5000)),
            IntNode.valueOf(0), IntNode.valueOf(1), IntNode.valueOf(-1), IntNode.valueOf(3), IntNode.valueOf(8),
            IntNode.valueOf(16), DoubleNode.valueOf(0.5), DoubleNode.valueOf(80.0), BooleanNode.TRUE, BooleanNode.FALSE,
            NullNode.instance, F.arrayNode(), F.objectNode(), F.arrayNode().add(8).add(8), F.arrayNode().add(0.5).add(0.5).add(0.5),
            F.arrayNode().add("x"), F.objectNode().put("a", 1), F.objectNode().put("name", "low").put("model", "base/low.onnx"));

    static final List<JsonNode> NUMBERS = List.of(
            IntNode.valueOf(0), IntNode.valueOf(-1), IntNode.valueOf(Integer.MAX_VALUE), IntNode.valueOf(Integer.MIN_VALUE),
            LongNode.valueOf(Long.MAX_VALUE), LongNode.valueOf(Integer.MAX_VALUE + 1L), LongNode.valueOf(Long.MIN_VALUE),
            BigIntegerNode.valueOf(BigInteger.TEN.pow(40)), DoubleNode.valueOf(1e308), DoubleNode.valueOf(-1e308),
            DoubleNode.valueOf(4.9e-324), DoubleNode.valueOf(-0.0), DoubleNode.valueOf(0.0005), DoubleNode.valueOf(2.5),
            IntNode.valueOf(4096), IntNode.valueOf(8192), IntNode.valueOf(8193), IntNode.valueOf(65536), IntNode.valueOf(1 << 30),
            TextNode.valueOf(RAW_NAN), TextNode.valueOf(RAW_INF), TextNode.valueOf(RAW_HUGE));

    static final List<String> PATHS = List.of("/etc/passwd", "../manifest.json", "../../etc/passwd", "base/../base/low.onnx",
            "base//low.onnx", "./base/low.onnx", "base/./low.onnx", "C:\\models\\x.onnx", "C:/x.onnx", "base\\low.onnx",
            "\\\\server\\share", "nul\u0000.onnx", "base/", "base", ".", "..", "manifest.json", "t5/tokenizer.json",
            "t5/encoder.onnx", "clip/text.onnx", "clip/image.onnx", "base/high.onnx", "sr/low.onnx", "missing.onnx",
            "base/low.onnx/", "~/x.onnx", "%2e%2e/x", "file:///etc/passwd", "classpath:/x", "\u00e9.onnx");

    static final List<String> KEYS = List.of("name", "model", "tokenizer", "sigma_lo", "sigma_hi", "inputs", "outputs",
            "stages", "experts", "defaults", "x", "sigma", "t5_tokens", "low_res", "augmentation_sigma", "dim", "role",
            "resolution", "unknown", "", "Name", "sigma_lo ");

    static String mutate(ObjectNode manifest, List<Mutation> mutations) {
        JsonNode root = manifest;
        ObjectNode holder = F.objectNode().set("root", root);
        List<String[]> duplicateKeys = new ArrayList<>();
        for (Mutation m : mutations) {
            List<Loc> locs = new ArrayList<>();
            collect(holder, "root", -1, holder.get("root"), locs);
            Loc at = locs.get(m.target() % locs.size());
            boolean isRoot = at.parent() == holder;
            switch (m.kind()) {
                case DELETE -> {
                    if (!isRoot) {
                        at.remove();
                    }
                }
                case REPLACE -> {
                    JsonNode v = VALUES.get(m.value() % VALUES.size());
                    for (int i = 1; v.getNodeType() == at.node().getNodeType() && i < VALUES.size(); i++) {
                        v = VALUES.get((m.value() + i) % VALUES.size());
                    }
                    at.set(v.deepCopy());
                }
                case NUMBER -> at.set(NUMBERS.get(m.value() % NUMBERS.size()).deepCopy());
                case EMPTY_STRING -> at.set(TextNode.valueOf(""));
                case PATH -> at.set(TextNode.valueOf(PATHS.get(m.value() % PATHS.size())));
                case RENAME -> {
                    if (at.parent() instanceof ObjectNode o && !isRoot) {
                        o.remove(at.key());
                        o.set(KEYS.get(m.value() % KEYS.size()), at.node());
                    }
                }
                case DUPLICATE -> {
                    if (at.parent() instanceof ArrayNode a) {
                        a.insert(at.index(), at.node().deepCopy());
                    } else if (!isRoot) {
                        // a duplicate key, which a tree cannot hold: injected into the text below
                        JsonNode other = locs.get(m.other() % locs.size()).node();
                        duplicateKeys.add(new String[] {at.key(), other.toString()});
                    }
                }
                case SWAP -> {
                    Loc other = locs.get(m.other() % locs.size());
                    JsonNode a = at.node().deepCopy();
                    JsonNode b = other.node().deepCopy();
                    at.set(b);
                    if (other.parent() != holder || at.parent() == holder) {
                        other.set(a);
                    }
                }
            }
        }
        String json;
        try {
            json = COMPACT.writeValueAsString(holder.get("root"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (String[] d : duplicateKeys) {
            String key;
            try {
                key = COMPACT.writeValueAsString(d[0]);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            json = json.replaceFirst(java.util.regex.Pattern.quote(key + ":"),
                    Matcher.quoteReplacement(key + ":" + d[1] + "," + key + ":"));
        }
        for (String raw : List.of(RAW_NAN, RAW_INF, RAW_HUGE)) {
            json = json.replace("\"" + raw + "\"", raw.substring("__raw:".length()));
        }
        return json;
    }
}
