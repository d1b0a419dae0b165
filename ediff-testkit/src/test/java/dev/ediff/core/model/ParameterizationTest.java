package dev.ediff.core.model;

import dev.ediff.api.Conditioning;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixture;
import org.junit.jupiter.api.Test;

import static dev.ediff.core.Generators.decimals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;

/**
 * Each parameterization, given the network output that a perfect model trained in it would
 * produce (derived from the exact mixture denoiser by inverting the paper's formulas), must
 * reproduce the exact denoiser.
 */
class ParameterizationTest {

    static final int D = 6;
    static final GaussianMixture GMM = new GaussianMixture(new double[] {0.3, 0.7},
            new double[][] {{1, -1, 0.5, 0, 2, -0.3}, {-0.5, 0.2, 1, 1, -1, 0}}, new double[] {0.2, 0.4});

    /** A perfect network for {@code p}: F = (D - cSkip x) / cOut, seen through cIn x and cNoise. */
    static Network perfect(Parameterization p, java.util.function.DoubleUnaryOperator sigmaOfNoise) {
        return (xIn, shape, cNoise, cond, out) -> {
            double sigma = sigmaOfNoise.applyAsDouble(cNoise);
            Preconditioning c = p.at(sigma);
            double[] x = new double[xIn.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = xIn[i] / c.cIn();
            }
            GMM.denoise(x, 0, sigma, out, new double[2]);
            for (int i = 0; i < x.length; i++) {
                out[i] = (out[i] - c.cSkip() * x[i]) / c.cOut();
            }
        };
    }

    static void check(Parameterization p, java.util.function.DoubleUnaryOperator sigmaOfNoise, double sigma) {
        ParameterizedExpert e = new ParameterizedExpert("p", perfect(p, sigmaOfNoise), p);
        double[] x = new double[D];
        for (int i = 0; i < D; i++) {
            x[i] = Math.sin(3 * i + sigma) * (1 + sigma);
        }
        double[] expected = new double[D];
        double[] actual = new double[D];
        GMM.denoise(x, 0, sigma, expected, new double[2]);
        e.denoise(x, new TensorShape(1, D, 1, 1), sigma, Conditioning.NONE, actual);
        for (int i = 0; i < D; i++) {
            assertEquals(expected[i], actual[i], 1e-9 * Math.max(1, Math.abs(expected[i])));
        }
    }

    @Test
    void edmEpsAndVAdaptersGiveTheExactDenoiser() {
        qt().withExamples(100).forAll(decimals(0.01, 80, 4)).checkAssert(sigma -> {
            check(Parameterization.edm(0.5), c -> Math.exp(4 * c), sigma);
            check(Parameterization.edm(1.3), c -> Math.exp(4 * c), sigma);
            check(Parameterization.eps(1.0, s -> s), c -> c, sigma);
            check(Parameterization.v(0.5, s -> s), c -> c, sigma);
            check(Parameterization.x0(), c -> c, sigma);
        });
    }

    @Test
    void discreteVpModelsSeeTheirTimestep() {
        DiscreteVp table = DiscreteVp.scaledLinear(1000, 0.00085, 0.012);
        qt().withExamples(100).forAll(decimals(0.03, 14, 4)).checkAssert(sigma -> {
            check(Parameterization.discreteEps(table), table::sigmaAt, sigma);
            check(Parameterization.discreteV(table), table::sigmaAt, sigma);
        });
    }

    @Test
    void edmCoefficientsFollowThePaper() {
        qt().withExamples(50).forAll(decimals(0.002, 80, 5)).checkAssert(s -> {
            Preconditioning p = Parameterization.edm(0.5).at(s);
            double v = s * s + 0.25;
            assertEquals(0.25 / v, p.cSkip(), 1e-15);
            assertEquals(s * 0.5 / Math.sqrt(v), p.cOut(), 1e-15);
            assertEquals(1 / Math.sqrt(v), p.cIn(), 1e-15);
            assertEquals(Math.log(s) / 4, p.cNoise(), 1e-15);
        });
    }
}
