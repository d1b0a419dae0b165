package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layout step on the default model's real encoders against reference vectors from the Python
 * implementation ({@code tools/mini/mini2/phrases.py --cases}, ONNX Runtime on the bundle's encoder
 * files): for each prompt the planner's phrases, and the conditioning the experts receive: CLIP and
 * T5 token states of both phrases' slots (16 of 32 each), their masks, and CLIP's pooled embedding of
 * the joined phrases. The bundle is a copy of ediff-model-mini's default bundle with the layout block
 * of the reference file added to its manifest (the default model's own manifest is not changed).
 */
class DefaultBundleLayoutTest {

    static final Path DEFAULT = Path.of("..", "ediff-model-mini", "src", "main", "resources", "dev", "ediff", "models",
            "default");
    static final double TOLERANCE = 1e-4;

    @TempDir
    static Path tmp;
    static JsonNode reference;
    static EDiff ediff;

    @BeforeAll
    static void open() throws IOException {
        try (InputStream in = DefaultBundleLayoutTest.class.getResourceAsStream("/layout/cases.json")) {
            reference = FixtureBundle.JSON.readTree(in);
        }
        assertTrue(Files.isRegularFile(DEFAULT.resolve(Manifest.FILE)), "the default bundle at " + DEFAULT.toAbsolutePath());
        Path dir = tmp.resolve("default");
        try (Stream<Path> files = Files.walk(DEFAULT)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path to = dir.resolve(DEFAULT.relativize(f).toString());
                Files.createDirectories(to.getParent());
                Files.copy(f, to);
            }
        }
        ObjectNode manifest = (ObjectNode) FixtureBundle.JSON.readTree(dir.resolve(Manifest.FILE).toFile());
        manifest.set("layout", reference.get("layout"));
        Files.write(dir.resolve(Manifest.FILE), FixtureBundle.bytes(manifest));
        ediff = ModelBundle.open(dir, FixtureBundle.CPU);
    }

    @AfterAll
    static void close() {
        if (ediff != null) {
            ediff.close();
        }
    }

    @Test
    void theReferenceLayoutIsTheSpecBlock() {
        assertEquals(ManifestLayoutTest.specBlock(), reference.get("layout"));
        assertEquals(4, reference.get("cases").size());
    }

    @Test
    void phrasesAndTheirEncodingsMatchThePythonImplementation() {
        AtomicReference<Conditioning> seen = new AtomicReference<>();
        Expert recorder = (x, shape, sigma, cond, out) -> {
            seen.set(cond);
            System.arraycopy(x, 0, out, 0, out.length);
        };
        try (EDiff recording = ediff.toBuilder().replaceExpert("base", NoiseInterval.all(), recorder).build()) {
            for (JsonNode c : reference.get("cases")) {
                String prompt = c.get("prompt").asText();
                Generation g = recording.generate(Request.prompt(prompt).seed(0).steps(1).untilStage("base").build());
                assertEquals(strings(c.get("phrases")), g.layoutPhrases(), prompt);
                assertEquals(List.of(), g.truncations(), prompt);
                Conditioning cond = LayoutBundleTest.lastRow(seen.get());
                assertClose(c.get("clip_pooled_first8"), cond.get(Conditioning.CLIP_POOLED).orElseThrow(), 0, 8,
                        prompt + ": clip pooled");
                for (String role : List.of("clip", "t5")) {
                    Tensor tokens = cond.get(role + "_tokens").orElseThrow();
                    assertEquals(List.of(1L, 32L, 128L), List.of(tokens.dim(0), tokens.dim(1), tokens.dim(2)));
                    for (Iterator<Map.Entry<String, JsonNode>> it = c.get(role + "_tokens").fields(); it.hasNext(); ) {
                        Map.Entry<String, JsonNode> slot = it.next();
                        int s = Integer.parseInt(slot.getKey());
                        assertClose(slot.getValue(), tokens, s * 128, 4, prompt + ": " + role + " slot " + s);
                    }
                    Tensor mask = cond.get(role + "_mask").orElseThrow();
                    float[] expected = new float[32];
                    for (int i = 0; i < 32; i++) {
                        expected[i] = (float) c.get(role + "_mask").get(i).asDouble();
                    }
                    assertEquals(java.util.Arrays.toString(expected), java.util.Arrays.toString(mask.toArray()),
                            prompt + ": " + role + " mask");
                }
            }
        }
    }

    static void assertClose(JsonNode expected, Tensor actual, int offset, int n, String what) {
        assertEquals(n, expected.size(), what);
        for (int i = 0; i < n; i++) {
            double want = expected.get(i).asDouble();
            double got = actual.get(offset + i);
            assertTrue(Math.abs(want - got) <= TOLERANCE, what + "[" + i + "]: expected " + want + ", got " + got);
        }
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
