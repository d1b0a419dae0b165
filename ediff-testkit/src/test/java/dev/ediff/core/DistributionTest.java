package dev.ediff.core;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sampling a 2-D Gaussian mixture with its exact denoiser must reproduce the mixture: weights,
 * means and covariances of each component within statistical tolerances (4 standard errors, plus
 * a small allowance for the sampler's discretization error).
 */
class DistributionTest {

    static final double[][] MU = {{-3, 0}, {3, 0}, {0, 4}};
    static final double[] STD = {0.5, 0.8, 0.3};
    static final double[] W = {0.5, 0.3, 0.2};

    @ParameterizedTest
    @CsvSource({"heun,32", "dpmpp_2m,40"})
    void samplesReproduceTheMixture(String samplerName, int steps) {
        int n = 4000;
        GaussianMixture gmm = new GaussianMixture(W, MU, STD);
        Sampler sampler = Samplers.byName(samplerName);
        Generation g;
        try (EDiff ediff = EDiff.builder(RoutingTree.single(new GaussianMixtureExpert("gmm", gmm)),
                TensorShape.of(2, 1, 1)).build()) {
            g = ediff.generate(Request.builder().seed(2024).count(n).sampler(sampler, steps)
                    .schedule(Schedules.edm()).build());
        }
        int[] count = new int[3];
        double[][] sum = new double[3][2];
        double[][] sq = new double[3][3]; // xx, yy, xy
        for (int i = 0; i < n; i++) {
            double x = g.sample(i).get(0);
            double y = g.sample(i).get(1);
            int k = nearest(x, y);
            count[k]++;
            sum[k][0] += x;
            sum[k][1] += y;
            sq[k][0] += x * x;
            sq[k][1] += y * y;
            sq[k][2] += x * y;
        }
        StringBuilder report = new StringBuilder(samplerName + ":");
        for (int k = 0; k < 3; k++) {
            double p = (double) count[k] / n;
            double pTol = 4 * Math.sqrt(W[k] * (1 - W[k]) / n);
            check(report, "weight " + k, p, W[k], pTol);
            int m = count[k];
            double mx = sum[k][0] / m;
            double my = sum[k][1] / m;
            double meanTol = 4 * STD[k] / Math.sqrt(m) + 0.01;
            check(report, "mean x " + k, mx, MU[k][0], meanTol);
            check(report, "mean y " + k, my, MU[k][1], meanTol);
            double var = STD[k] * STD[k];
            double varTol = var * (4 * Math.sqrt(2.0 / m) + 0.05);
            check(report, "var x " + k, sq[k][0] / m - mx * mx, var, varTol);
            check(report, "var y " + k, sq[k][1] / m - my * my, var, varTol);
            check(report, "cov xy " + k, sq[k][2] / m - mx * my, 0, var * (4 / Math.sqrt(m) + 0.05));
        }
        System.out.println(report);
        assertTrue(report.indexOf("FAIL") < 0, report::toString);
    }

    private static void check(StringBuilder report, String what, double actual, double expected, double tol) {
        boolean ok = Math.abs(actual - expected) <= tol;
        report.append(String.format(" %s=%.4f(%.4f+-%.4f)%s", what, actual, expected, tol, ok ? "" : " FAIL"));
    }

    private static int nearest(double x, double y) {
        int best = 0;
        double bestD = Double.MAX_VALUE;
        for (int k = 0; k < 3; k++) {
            double d = (x - MU[k][0]) * (x - MU[k][0]) + (y - MU[k][1]) * (y - MU[k][1]);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }
}
