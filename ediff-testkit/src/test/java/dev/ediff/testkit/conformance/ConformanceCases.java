package dev.ediff.testkit.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sampler cases of the shared conformance vectors as dynamic tests, for each expert that runs
 * them. The vectors live in ediff-core's test resources; {@code -Dediff.conformance.dir=DIR} points
 * elsewhere.
 */
public final class ConformanceCases {

    private ConformanceCases() {
    }

    /**
     * The folder of the conformance vectors, checked to hold a {@code manifest.json}.
     *
     * @return the folder
     */
    public static Path dir() {
        String property = System.getProperty("ediff.conformance.dir");
        Path dir = property != null ? Path.of(property) : Path.of("../ediff-core/src/test/resources/conformance");
        assertTrue(Files.isRegularFile(dir.resolve("manifest.json")), "no conformance manifest in " + dir.toAbsolutePath());
        return dir;
    }

    /**
     * One test per sampler case of the manifest (the public set has 14), each run by {@code runner}
     * and printed with its maximum error.
     *
     * @param runner runs a case against its reference
     * @param label  printed before each case's name ("" for none)
     * @return the tests
     * @throws IOException when the manifest or a case cannot be read
     */
    public static List<DynamicTest> samplerTests(ConformanceRunner runner, String label) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        Path dir = dir();
        JsonNode manifest = mapper.readTree(dir.resolve("manifest.json").toFile());
        assertEquals(14, manifest.get("sampler_cases").size(), "the public set has 14 sampler cases");
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode f : manifest.get("sampler_cases")) {
            SamplerCase c = SamplerCase.read(dir.resolve(f.asText()), mapper);
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                ConformanceRunner.Result r = runner.run(c);
                System.out.printf("%s%-28s %s max error %.3g%n", label, r.name(), r.passed() ? "PASS" : "FAIL", r.maxError());
                assertTrue(r.passed(), () -> r.name() + ": " + r.detail() + " (max error " + r.maxError() + ")");
            }));
        }
        return tests;
    }
}
