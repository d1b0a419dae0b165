package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * Euler's method on the probability-flow ODE {@code dx/dsigma = (x - D(x; sigma)) / sigma}
 * (Karras et al. 2022, Algorithm 2 with first-order steps, no churn). One evaluation per step.
 */
public final class Euler implements Sampler {

    @Override
    public String name() {
        return "euler";
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            for (int i = 0; i < sigmas.length - 1; i++) {
                double sigma = sigmas[i];
                model.denoise(x, sigma, denoised);
                callback.onStep(i, sigma, x, denoised);
                double dt = sigmas[i + 1] - sigma;
                for (int k = 0; k < x.length; k++) {
                    x[k] += dt * (x[k] - denoised[k]) / sigma;
                }
            }
        }
    }
}
