package dev.ediff.onnx;

import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.RoutedEvaluation;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A Java expert below sigma 0.5 and an ONNX expert above it, in one routing tree (the brief's example). */
class MixedRoutingTest {

    static final TensorShape SAMPLE = TensorShape.of(3, 8, 8);

    static GaussianMixture mixture(long seed) {
        Random rnd = new Random(seed);
        double[][] mu = new double[4][SAMPLE.sampleSize()];
        for (double[] m : mu) {
            for (int j = 0; j < m.length; j++) {
                m[j] = 2 * rnd.nextDouble() - 1;
            }
        }
        return new GaussianMixture(new double[] {1, 2, 3, 4}, mu, new double[] {0.1, 0.2, 0.3, 0.05});
    }

    @Test
    void javaAndOnnxExpertsShareOneTreeAndMatchTheAllJavaRun() {
        GaussianMixture low = mixture(1);
        GaussianMixture high = mixture(2);
        Request request = Request.builder().seed(9).count(2).sampler(Samplers.heun(), 12).build();
        Generation reference;
        RoutingTree javaOnly = RoutingTree.builder()
                .expert(NoiseInterval.below(0.5), new GaussianMixtureExpert("low", low))
                .expert(NoiseInterval.atLeast(0.5), new GaussianMixtureExpert("high", high))
                .build();
        try (EDiff ediff = EDiff.builder(javaOnly, SAMPLE).build()) {
            reference = ediff.generate(request);
        }
        OnnxExpert onnxHigh = GaussianMixtureOnnx.expert("high", List.of(high), SAMPLE,
                SessionConfig.builder().intraOpThreads(1).build());
        RoutingTree mixed = RoutingTree.builder()
                .expert(NoiseInterval.below(0.5), new GaussianMixtureExpert("low", low))
                .expert(NoiseInterval.atLeast(0.5), onnxHigh)
                .build();
        Generation g;
        try (EDiff ediff = EDiff.builder(mixed, SAMPLE).owning(onnxHigh).build()) {
            g = ediff.generate(request);
        }
        assertTrue(onnxHigh.isClosed(), "the pipeline closes the experts it owns");
        assertEquals(reference.nfe(), g.nfe());
        List<String> experts = g.evaluations().stream().map(RoutedEvaluation::expert).toList();
        assertTrue(experts.contains("low") && experts.contains("high"), experts.toString());
        double err = 0;
        for (int b = 0; b < 2; b++) {
            double[] a = g.sample(b).data();
            double[] e = reference.sample(b).data();
            for (int i = 0; i < a.length; i++) {
                err = Math.max(err, Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i])));
            }
        }
        System.out.printf("mixed Java/ONNX routing vs all-Java: max error %.3g%n", err);
        assertTrue(err < 1e-4, "max error " + err);
    }
}
