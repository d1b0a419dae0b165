package dev.ediff.examples;

import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;

import java.util.List;

/**
 * One routing tree, two kinds of expert: a Java expert below sigma 0.5 and an ONNX expert above
 * it (here both compute the exact denoiser of the same mixture, so the result matches an all-Java
 * run). Every evaluation, Heun's corrector included, goes to the expert owning its sigma.
 */
public final class MixedExperts {

    private MixedExperts() {
    }

    public static void main(String[] args) {
        TensorShape shape = TensorShape.of(3, 4, 4);
        GaussianMixture data = new GaussianMixture(new double[] {1, 2},
                new double[][] {new double[48], java.util.Collections.nCopies(48, 0.5).stream()
                        .mapToDouble(Double::doubleValue).toArray()}, new double[] {0.2, 0.3});
        OnnxExpert onnx = GaussianMixtureOnnx.expert("onnx-high", List.of(data), shape, SessionConfig.DEFAULT);
        RoutingTree tree = RoutingTree.builder()
                .expert(NoiseInterval.of(0.0, 0.5), new GaussianMixtureExpert("java-low", data))
                .expert(NoiseInterval.atLeast(0.5), onnx)
                .build();
        try (EDiff ediff = EDiff.builder(tree, shape).owning(onnx).build()) {
            var g = ediff.generate(Request.builder().seed(3).sampler(Samplers.heun(), 12).build());
            g.evaluations().forEach(e -> System.out.printf("sigma %9.4f -> %s%n", e.sigma(), e.expert()));
        }
    }
}
