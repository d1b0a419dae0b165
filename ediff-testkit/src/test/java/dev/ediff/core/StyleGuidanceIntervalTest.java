package dev.ediff.core;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A guidance interval limits text guidance only; style guidance applies at every sigma. */
class StyleGuidanceIntervalTest {

    @Test
    void outsideTheIntervalOnlyTheStyleTermRemains() {
        int d = 4;
        TensorShape shape = new TensorShape(1, d, 1, 1);
        List<GaussianMixture> classes = List.of(EDiffTest.mixture(1, 2, d), EDiffTest.mixture(2, 2, d),
                EDiffTest.mixture(3, 2, d));
        GaussianMixtureExpert expert = new GaussianMixtureExpert("three", classes);
        List<Conditioning> branches = List.of(GaussianMixtureExpert.label(0, 1), GaussianMixtureExpert.label(1, 1),
                GaussianMixtureExpert.label(2, 1));
        double[] x = {0.3, -1.2, 2.0, 0.5};
        Guidance text = Guidance.of(5).limitedTo(NoiseInterval.of(1.0, 3.0));
        for (double sigma : new double[] {0.4, 1.7, 6.0}) {
            double[] out = new double[d];
            try (GuidedDenoiser g = new GuidedDenoiser(RoutingTree.single(expert), shape, branches, new double[] {5, 2},
                    1, text, new CancellationToken())) {
                g.denoise(x, sigma, out);
            }
            double[][] dk = new double[3][d];
            for (int k = 0; k < 3; k++) {
                classes.get(k).denoise(x, 0, sigma, dk[k], new double[2]);
            }
            boolean inside = sigma >= 1.0 && sigma < 3.0;
            for (int j = 0; j < d; j++) {
                double expected = inside
                        ? dk[0][j] + 5 * (dk[1][j] - dk[0][j]) + 2 * (dk[2][j] - dk[1][j])
                        : dk[1][j] + 2 * (dk[2][j] - dk[1][j]);
                assertEquals(expected, out[j], 1e-12, "sigma " + sigma);
            }
        }
    }

    @Test
    void styleStrengthStillMattersWhenTextGuidanceIsLimitedAwayFromEverySigma() {
        BufferedImage style = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        style.setRGB(0, 0, 0x909090);
        Guidance nowhere = Guidance.of(3).limitedTo(NoiseInterval.of(1000, 2000));
        double[][] outs = new double[2][];
        try (EDiff e = GenerationParametersTest.cascade()) {
            for (int i = 0; i < 2; i++) {
                Generation g = e.generate(Request.prompt("a red circle").seed(4).untilStage("base").guidance(nowhere)
                        .style(style, i == 0 ? 1.0 : 3.0).build());
                outs[i] = g.sample(0).data();
            }
        }
        // With D = x/2 + c the style term moves the result by (strength - 1) * style scalar
        assertNotEquals(outs[0][0], outs[1][0]);
    }
}
