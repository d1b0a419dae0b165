package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * Ancestral sampling with Euler steps: each step goes deterministically down to
 * {@code sigma_down} and adds fresh noise of {@code sigma_up}, where
 * {@code sigma_up = min(sigma_next, eta sqrt(sigma_next^2 (sigma^2 - sigma_next^2) / sigma^2))} and
 * {@code sigma_down = sqrt(sigma_next^2 - sigma_up^2)}.
 */
public final class EulerAncestral implements Sampler {

    private final double eta;
    private final double sNoise;

    /**
     * @param eta    amount of ancestral noise, 0 (Euler) to 1 (full ancestral)
     * @param sNoise scale of the added noise
     */
    public EulerAncestral(double eta, double sNoise) {
        this.eta = SamplerChecks.nonNegative("eta", eta);
        this.sNoise = SamplerChecks.nonNegative("s_noise", sNoise);
    }

    /** The options {@link StandardSamplers} reads back, e.g. {@code s_churn}. */
    @Override
    public java.util.Map<String, String> options() {
        return java.util.Map.of("eta", Double.toString(eta), "s_noise", Double.toString(sNoise));
    }

    @Override
    public String name() {
        return "euler_ancestral";
    }

    @Override
    public boolean isStochastic() {
        return eta > 0 && sNoise > 0;
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            double[] z = ws.take(x.length);
            for (int i = 0; i < sigmas.length - 1; i++) {
                double sigma = sigmas[i];
                double sigmaNext = sigmas[i + 1];
                model.denoise(x, sigma, denoised);
                callback.onStep(i, sigma, x, denoised);
                double sigmaUp = Math.min(sigmaNext,
                        eta * Math.sqrt(sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext) / (sigma * sigma)));
                double sigmaDown = Math.sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
                double dt = sigmaDown - sigma;
                for (int k = 0; k < x.length; k++) {
                    x[k] += dt * (x[k] - denoised[k]) / sigma;
                }
                if (sigmaNext > 0 && isStochastic()) {
                    noise.next(z);
                    for (int k = 0; k < x.length; k++) {
                        x[k] += z[k] * sNoise * sigmaUp;
                    }
                }
            }
        }
    }
}
