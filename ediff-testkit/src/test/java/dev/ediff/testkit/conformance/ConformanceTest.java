package dev.ediff.testkit.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every sampler case of the shared conformance vectors, through EDiff.generate with the Java GMM expert. */
class ConformanceTest {

    /**
     * The vectors are ediff-core's test resources. Read from the source folder, not the classpath:
     * in a reactor {@code verify} the core test-jar is a jar, and its entries are not files.
     */
    static Path conformanceDir() {
        Path dir = Path.of("..", "ediff-core", "src", "test", "resources", "conformance");
        if (!java.nio.file.Files.isRegularFile(dir.resolve("manifest.json"))) {
            throw new IllegalStateException("conformance vectors not found at " + dir.toAbsolutePath()
                    + " (the test runs from the ediff-testkit folder)");
        }
        return dir;
    }

    @TestFactory
    List<DynamicTest> everySamplerCaseMatchesTheReference() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        Path dir = conformanceDir();
        JsonNode manifest = mapper.readTree(dir.resolve("manifest.json").toFile());
        ConformanceRunner runner = new ConformanceRunner(
                (name, mixtures, shape) -> new GaussianMixtureExpert(name, mixtures), 1e-9);
        List<DynamicTest> tests = new ArrayList<>();
        assertEquals(14, manifest.get("sampler_cases").size(), "the public set has 14 sampler cases");
        for (JsonNode f : manifest.get("sampler_cases")) {
            SamplerCase c = SamplerCase.read(dir.resolve(f.asText()), mapper);
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                ConformanceRunner.Result r = runner.run(c);
                System.out.printf("%-28s %s max error %.3g%n", r.name(), r.passed() ? "PASS" : "FAIL", r.maxError());
                assertTrue(r.passed(), () -> r.name() + ": " + r.detail() + " (max error " + r.maxError() + ")");
            }));
        }
        return tests;
    }
}
