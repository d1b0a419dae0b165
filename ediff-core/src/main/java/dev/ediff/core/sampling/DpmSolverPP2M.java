package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * DPM-Solver++(2M) (Lu et al. 2022b): second-order multistep in {@code lambda = -ln sigma} on the
 * data prediction. The first step and the step to sigma = 0 are first order.
 */
public final class DpmSolverPP2M implements Sampler {

    @Override
    public String name() {
        return "dpmpp_2m";
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            double[] old = ws.take(x.length);
            double hLast = Double.NaN;
            for (int i = 0; i < sigmas.length - 1; i++) {
                double sigma = sigmas[i];
                double sigmaNext = sigmas[i + 1];
                model.denoise(x, sigma, denoised);
                callback.onStep(i, sigma, x, denoised);
                if (sigmaNext == 0) {
                    System.arraycopy(denoised, 0, x, 0, x.length);
                    continue;
                }
                double h = Math.log(sigma) - Math.log(sigmaNext);
                double ratio = sigmaNext / sigma;
                double phi = -Math.expm1(-h);
                if (i == 0) {
                    for (int k = 0; k < x.length; k++) {
                        x[k] = ratio * x[k] + phi * denoised[k];
                    }
                } else {
                    double r = hLast / h;
                    double a = 1 + 1 / (2 * r);
                    double b = 1 / (2 * r);
                    for (int k = 0; k < x.length; k++) {
                        x[k] = ratio * x[k] + phi * (a * denoised[k] - b * old[k]);
                    }
                }
                double[] t = old;
                old = denoised;
                denoised = t;
                hLast = h;
            }
        }
    }
}
