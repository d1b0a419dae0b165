package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.core.Workspace;

/**
 * Linear multistep in sigma: the next state adds the last {@code q = min(i + 1, order)}
 * derivatives {@code d = (x - D) / sigma}, weighted by the integrals over {@code [sigma_i, sigma_next]}
 * of their Lagrange basis polynomials. One evaluation per step.
 */
public final class LinearMultistep implements Sampler {

    // 4-point Gauss-Legendre: exact for the polynomials of degree <= 7 that arise (degree <= order - 1).
    private static final double[] GL_NODES = {
            -0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526};
    private static final double[] GL_WEIGHTS = {
            0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538};

    private final int order;

    /** @param order the number of past derivatives used, 1 to 4 */
    public LinearMultistep(int order) {
        if (order < 1 || order > 4) {
            throw new IllegalArgumentException("linear multistep order must be 1..4, got " + order);
        }
        this.order = order;
    }

    /** The options {@link StandardSamplers} reads back, e.g. {@code s_churn}. */
    @Override
    public java.util.Map<String, String> options() {
        return java.util.Map.of("order", Integer.toString(order));
    }

    @Override
    public String name() {
        return "lms";
    }

    @Override
    public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        try (Workspace.Lease ws = Workspace.current().lease()) {
            double[] denoised = ws.take(x.length);
            double[][] ds = new double[order][]; // ds[j] = derivative of step i - j (ring)
            for (int j = 0; j < order; j++) {
                ds[j] = ws.take(x.length);
            }
            double[] coeffs = new double[order];
            for (int i = 0; i < sigmas.length - 1; i++) {
                double sigma = sigmas[i];
                model.denoise(x, sigma, denoised);
                callback.onStep(i, sigma, x, denoised);
                double[] newest = ds[order - 1];
                System.arraycopy(ds, 0, ds, 1, order - 1);
                ds[0] = newest;
                for (int k = 0; k < x.length; k++) {
                    newest[k] = (x[k] - denoised[k]) / sigma;
                }
                int q = Math.min(i + 1, order);
                for (int j = 0; j < q; j++) {
                    coeffs[j] = coefficient(sigmas, i, q, j);
                }
                for (int k = 0; k < x.length; k++) {
                    double sum = 0;
                    for (int j = 0; j < q; j++) {
                        sum += coeffs[j] * ds[j][k];
                    }
                    x[k] += sum;
                }
            }
        }
    }

    /** The integral over [sigma_i, sigma_{i+1}] of the Lagrange basis polynomial of node sigma_{i-j}. */
    static double coefficient(double[] sigmas, int i, int q, int j) {
        double a = sigmas[i];
        double b = sigmas[i + 1];
        double half = (b - a) / 2;
        double mid = (a + b) / 2;
        double sum = 0;
        for (int g = 0; g < GL_NODES.length; g++) {
            double t = mid + half * GL_NODES[g];
            double prod = 1;
            for (int k = 0; k < q; k++) {
                if (k != j) {
                    prod *= (t - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k]);
                }
            }
            sum += GL_WEIGHTS[g] * prod;
        }
        return sum * half;
    }
}
