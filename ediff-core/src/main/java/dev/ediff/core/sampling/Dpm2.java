package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * DPM-Solver-2 (Lu et al. 2022) in EDM form: a midpoint method whose midpoint is the geometric mean
 * {@code sigma_mid = exp((ln sigma + ln sigma_next) / 2)}. The step to sigma = 0 is a plain Euler
 * step. The midpoint evaluation is routed by {@code sigma_mid}.
 */
public final class Dpm2 implements Sampler {

    @Override
    public String name() {
        return "dpm_2";
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            double[] d = ws.take(x.length);
            double[] x2 = ws.take(x.length);
            for (int i = 0; i < sigmas.length - 1; i++) {
                double sigma = sigmas[i];
                double sigmaNext = sigmas[i + 1];
                model.denoise(x, sigma, denoised);
                callback.onStep(i, sigma, x, denoised);
                for (int k = 0; k < x.length; k++) {
                    d[k] = (x[k] - denoised[k]) / sigma;
                }
                if (sigmaNext == 0) {
                    double dt = sigmaNext - sigma;
                    for (int k = 0; k < x.length; k++) {
                        x[k] += d[k] * dt;
                    }
                    continue;
                }
                double sigmaMid = Math.exp((Math.log(sigma) + Math.log(sigmaNext)) / 2);
                double dt1 = sigmaMid - sigma;
                double dt2 = sigmaNext - sigma;
                for (int k = 0; k < x.length; k++) {
                    x2[k] = x[k] + d[k] * dt1;
                }
                model.denoise(x2, sigmaMid, denoised);
                for (int k = 0; k < x.length; k++) {
                    x[k] += (x2[k] - denoised[k]) / sigmaMid * dt2;
                }
            }
        }
    }
}
