package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * Heun's second-order method, EDM Algorithm 2 (Karras et al. 2022), with optional stochastic
 * "churn": within {@code [S_tmin, S_tmax]} each step first raises the noise level to
 * {@code sigma_hat = sigma (1 + gamma)}, {@code gamma = min(S_churn / n, sqrt(2) - 1)}, by adding noise
 * of standard deviation {@code S_noise sqrt(sigma_hat^2 - sigma^2)}. The step to sigma = 0 is a plain
 * Euler step. The corrector evaluation at {@code sigma_next} is routed by its own sigma.
 */
public final class Heun implements Sampler {

    private final double sChurn;
    private final double sTmin;
    private final double sTmax;
    private final double sNoise;

    /**
     * Heun with churn (EDM's stochastic sampler); {@code sChurn = 0} makes it deterministic.
     *
     * @param sChurn the total amount of churn, {@code >= 0}
     * @param sTmin  the lowest sigma at which churn applies
     * @param sTmax  the highest sigma at which churn applies
     * @param sNoise the scale of the added noise
     */
    public Heun(double sChurn, double sTmin, double sTmax, double sNoise) {
        this.sChurn = SamplerChecks.nonNegative("S_churn", sChurn);
        this.sTmin = SamplerChecks.nonNegative("S_tmin", sTmin);
        if (!(sTmax >= sTmin)) {
            throw new IllegalArgumentException("S_tmax must be >= S_tmin, got S_tmin=" + sTmin + ", S_tmax=" + sTmax);
        }
        this.sTmax = sTmax;
        this.sNoise = SamplerChecks.nonNegative("S_noise", sNoise);
    }

    /** The options {@link StandardSamplers} reads back, e.g. {@code s_churn}. */
    @Override
    public java.util.Map<String, String> options() {
        return java.util.Map.of("s_churn", Double.toString(sChurn), "s_tmin", Double.toString(sTmin),
                "s_tmax", Double.toString(sTmax), "s_noise", Double.toString(sNoise));
    }

    @Override
    public String name() {
        return "heun";
    }

    @Override
    public boolean isStochastic() {
        return sChurn > 0;
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        int n = sigmas.length - 1;
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            double[] d = ws.take(x.length);
            double[] x2 = ws.take(x.length);
            double[] z = isStochastic() ? ws.take(x.length) : null;
            for (int i = 0; i < n; i++) {
                double sigma = sigmas[i];
                double sigmaNext = sigmas[i + 1];
                double gamma = sChurn > 0 && sigma >= sTmin && sigma <= sTmax
                        ? Math.min(sChurn / n, Math.sqrt(2) - 1) : 0.0;
                double sigmaHat = sigma * (gamma + 1);
                if (gamma > 0) {
                    noise.next(z);
                    double std = sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
                    for (int k = 0; k < x.length; k++) {
                        x[k] += z[k] * std;
                    }
                }
                model.denoise(x, sigmaHat, denoised);
                callback.onStep(i, sigmaHat, x, denoised);
                double dt = sigmaNext - sigmaHat;
                for (int k = 0; k < x.length; k++) {
                    d[k] = (x[k] - denoised[k]) / sigmaHat;
                }
                if (sigmaNext == 0) {
                    for (int k = 0; k < x.length; k++) {
                        x[k] += d[k] * dt;
                    }
                    continue;
                }
                for (int k = 0; k < x.length; k++) {
                    x2[k] = x[k] + d[k] * dt;
                }
                model.denoise(x2, sigmaNext, denoised);
                for (int k = 0; k < x.length; k++) {
                    double d2 = (x2[k] - denoised[k]) / sigmaNext;
                    x[k] += (d[k] + d2) / 2 * dt;
                }
            }
        }
    }
}
