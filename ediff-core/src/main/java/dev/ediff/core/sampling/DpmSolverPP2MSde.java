package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * DPM-Solver++(2M) SDE, midpoint variant (Lu et al. 2022b; k-diffusion's form): with
 * {@code h = ln sigma - ln sigma_next} and {@code a = h + eta h},
 * {@code x = (sigma_next/sigma) e^(-eta h) x - expm1(-a) D}, a second-order correction
 * {@code - 0.5 expm1(-a) (h / h_last) (D - D_last)}, then noise
 * {@code sigma_next sqrt(-expm1(-2 eta h)) s_noise z}. The step to sigma = 0 returns D.
 */
public final class DpmSolverPP2MSde implements Sampler {

    private final double eta;
    private final double sNoise;

    /**
     * DPM-Solver++(2M) SDE with the midpoint solver.
     *
     * @param eta    the amount of fresh noise per step, {@code >= 0} (0: the ODE solver)
     * @param sNoise the scale of that noise, {@code >= 0}
     */
    public DpmSolverPP2MSde(double eta, double sNoise) {
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
        return "dpmpp_2m_sde";
    }

    @Override
    public boolean isStochastic() {
        return eta > 0 && sNoise > 0;
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            double[] old = ws.take(x.length);
            double[] z = ws.take(x.length);
            boolean hasOld = false;
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
                double etaH = eta * h;
                double decay = sigmaNext / sigma * Math.exp(-etaH);
                double phi = -Math.expm1(-h - etaH);
                for (int k = 0; k < x.length; k++) {
                    x[k] = decay * x[k] + phi * denoised[k];
                }
                if (hasOld) {
                    double c = 0.5 * phi * (h / hLast);
                    for (int k = 0; k < x.length; k++) {
                        x[k] += c * (denoised[k] - old[k]);
                    }
                }
                if (isStochastic()) {
                    noise.next(z);
                    double std = sigmaNext * Math.sqrt(-Math.expm1(-2 * etaH)) * sNoise;
                    for (int k = 0; k < x.length; k++) {
                        x[k] += z[k] * std;
                    }
                }
                double[] t = old;
                old = denoised;
                denoised = t;
                hasOld = true;
                hLast = h;
            }
        }
    }
}
