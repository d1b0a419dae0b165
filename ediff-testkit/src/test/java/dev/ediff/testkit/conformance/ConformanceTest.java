package dev.ediff.testkit.conformance;

import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.List;

/** Every sampler case of the shared conformance vectors, through EDiff.generate with the Java GMM expert. */
class ConformanceTest {

    @TestFactory
    List<DynamicTest> everySamplerCaseMatchesTheReference() throws Exception {
        ConformanceRunner runner = new ConformanceRunner(
                (name, mixtures, shape) -> new GaussianMixtureExpert(name, mixtures), 1e-9);
        return ConformanceCases.samplerTests(runner, "");
    }
}
