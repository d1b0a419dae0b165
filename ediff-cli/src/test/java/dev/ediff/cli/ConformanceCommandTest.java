package dev.ediff.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConformanceCommandTest {

    static final Path SHARED = Path.of("../ediff-core/src/test/resources/conformance");

    static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void thePublicVectorsAllPass() {
        String[] r = run("conformance", SHARED.toString());
        System.out.print(r[1]);
        assertEquals("0", r[0], r[1] + r[2]);
        String last = r[1].strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(last.matches("\\d+ passed, 0 failed"), last);
        int passed = Integer.parseInt(last.split(" ")[0]);
        assertTrue(passed >= 14 * Backends.all().size() + 9 + 27,
                "every sampler case on every backend, the 9 schedules and the 27 CLIP cases: " + last);
        assertTrue(r[1].contains("dpmpp_2m_cfg_karras [onnx]") && r[1].contains("clip_tokenizer_cases.json#26"), r[1]);
    }

    @Test
    void aCorruptedCaseUnderAnyNameFailsAndSetsTheExitCode(@TempDir Path dir) throws Exception {
        ObjectMapper m = new ObjectMapper();
        Path nested = Files.createDirectories(dir.resolve("more/deep"));
        ObjectNode good = (ObjectNode) m.readTree(SHARED.resolve("samplers/heun_experts_karras.json").toFile());
        m.writeValue(nested.resolve("anything.json").toFile(), good);
        ObjectNode bad = good.deepCopy();
        bad.put("name", "tampered");
        ArrayNode x = (ArrayNode) bad.get("x_final");
        x.set(0, m.getNodeFactory().numberNode(x.get(0).asDouble() + 1e-3));
        m.writeValue(dir.resolve("zz.json").toFile(), bad);
        ObjectNode nfe = good.deepCopy();
        nfe.put("name", "wrong-nfe");
        nfe.put("nfe", 18);
        m.writeValue(dir.resolve("nfe.json").toFile(), nfe);
        Files.writeString(dir.resolve("notes.json"), "{\"unrelated\": true}");
        Files.writeString(dir.resolve("more/tok.json"),
                "[{\"text\": \"a photo of a cat\", \"ids\": [49406, 320, 1125, 539, 320, 2368, 49407]},"
                        + " {\"text\": \"a cat\", \"ids\": [49406, 320, 2368, 2368, 49407]}]");

        String[] r = run("conformance", dir.toString());
        assertEquals("1", r[0]);
        assertTrue(r[1].contains("tampered") && r[1].contains("FAIL"), r[1]);
        assertTrue(r[1].contains("nfe 19 != expected 18"), r[1]);
        int n = Backends.all().size();
        assertTrue(r[1].contains("more/tok.json#0 a photo of a cat") && r[1].contains("more/tok.json#1 a cat"), r[1]);
        assertTrue(r[1].strip().endsWith((n + 1) + " passed, " + (2 * n + 1) + " failed"), r[1]);
    }

    @Test
    void usageErrorsExitWithTwoAndNoStackTrace() {
        String[] r = run("conformance", "/no/such/dir");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("'/no/such/dir' is not a directory"), r[2]);
        assertTrue(!r[2].contains("at dev.ediff"), r[2]);
        assertEquals("2", run("frobnicate")[0]);
        assertEquals("0", run("--help")[0]);
    }
}
