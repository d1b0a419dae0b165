package dev.ediff.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import dev.ediff.testkit.conformance.ConformanceRunner;
import dev.ediff.testkit.conformance.SamplerCase;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every sampler case of the shared conformance vectors, through EDiff.generate with the ONNX
 * Gaussian-mixture expert (float32 inside the graph), at 1e-4 relative with exact NFE and noise
 * counts. The vectors live in ediff-core's test resources; {@code -Dediff.conformance.dir=DIR}
 * points elsewhere.
 */
class OnnxConformanceTest {

    static Path conformanceDir() {
        String property = System.getProperty("ediff.conformance.dir");
        Path dir = property != null ? Path.of(property) : Path.of("../ediff-core/src/test/resources/conformance");
        assertTrue(Files.isRegularFile(dir.resolve("manifest.json")), "no conformance manifest in " + dir.toAbsolutePath());
        return dir;
    }

    @TestFactory
    List<DynamicTest> everySamplerCaseMatchesTheReferenceWithTheOnnxExpert() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        Path dir = conformanceDir();
        JsonNode manifest = mapper.readTree(dir.resolve("manifest.json").toFile());
        ConformanceRunner runner = new ConformanceRunner(
                GaussianMixtureOnnx.factory(SessionConfig.builder().intraOpThreads(1).build()), 1e-4);
        assertEquals(14, manifest.get("sampler_cases").size(), "the public set has 14 sampler cases");
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode f : manifest.get("sampler_cases")) {
            SamplerCase c = SamplerCase.read(dir.resolve(f.asText()), mapper);
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                ConformanceRunner.Result r = runner.run(c);
                System.out.printf("onnx %-28s %s max error %.3g%n", r.name(), r.passed() ? "PASS" : "FAIL", r.maxError());
                assertTrue(r.passed(), () -> r.name() + ": " + r.detail() + " (max error " + r.maxError() + ")");
            }));
        }
        return tests;
    }
}
