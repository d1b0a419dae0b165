package dev.ediff.onnx;

import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import dev.ediff.testkit.conformance.ConformanceCases;
import dev.ediff.testkit.conformance.ConformanceRunner;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.List;

/**
 * Every sampler case of the shared conformance vectors, through EDiff.generate with the ONNX
 * Gaussian-mixture expert (float32 inside the graph), at 1e-4 relative with exact NFE and noise
 * counts. The vectors live in ediff-core's test resources; {@code -Dediff.conformance.dir=DIR}
 * points elsewhere.
 */
class OnnxConformanceTest {

    @TestFactory
    List<DynamicTest> everySamplerCaseMatchesTheReferenceWithTheOnnxExpert() throws Exception {
        ConformanceRunner runner = new ConformanceRunner(
                GaussianMixtureOnnx.factory(SessionConfig.builder().intraOpThreads(1).build()), 1e-4);
        return ConformanceCases.samplerTests(runner, "onnx ");
    }
}
