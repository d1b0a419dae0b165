package dev.ediff.examples;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.analytic.GaussianMixture;
import dev.ediff.core.analytic.GaussianMixtureExpert;

/**
 * A sampler of your own: the explicit midpoint method on the probability-flow ODE, plugged into
 * the pipeline and run on a Gaussian mixture whose exact denoiser is known (no model needed).
 */
public final class CustomSampler {

    private CustomSampler() {
    }

    /** Midpoint in sigma: evaluate at the arithmetic midpoint, step with its slope. */
    static final class Midpoint implements Sampler {
        @Override
        public String name() {
            return "midpoint";
        }

        @Override
        public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
            double[] d = new double[x.length];
            double[] mid = new double[x.length];
            for (int i = 0; i < sigmas.length - 1; i++) {
                double s = sigmas[i];
                double next = sigmas[i + 1];
                model.denoise(x, s, d);
                callback.onStep(i, s, x, d);
                double sm = (s + next) / 2;
                for (int k = 0; k < x.length; k++) {
                    mid[k] = x[k] + (sm - s) * (x[k] - d[k]) / s;
                }
                model.denoise(mid, sm, d);
                for (int k = 0; k < x.length; k++) {
                    x[k] += (next - s) * (mid[k] - d[k]) / sm;
                }
            }
        }
    }

    public static void main(String[] args) {
        GaussianMixture data = new GaussianMixture(new double[] {0.7, 0.3},
                new double[][] {{-2, 0}, {2, 1}}, new double[] {0.3, 0.5});
        try (EDiff ediff = EDiff.builder(RoutingTree.single(new GaussianMixtureExpert("gmm", data)),
                TensorShape.of(2, 1, 1)).build()) {
            var g = ediff.generate(Request.builder().seed(1).count(1000).sampler(new Midpoint(), 25).build());
            int left = 0;
            for (var s : g.samples()) {
                left += s.get(0) < 0 ? 1 : 0;
            }
            System.out.printf("%s: %d evaluations; %.1f%% of samples in the left component (expected 70%%)%n",
                    g.sampler(), g.nfe(), left / 10.0);
        }
    }
}
