package dev.ediff.testkit.analytic;

/**
 * An isotropic Gaussian mixture {@code sum_k pi_k N(mu_k, s_k^2 I)} on {@code R^d}. Its exact
 * denoiser is the posterior mean: with {@code v_k = s_k^2 + sigma^2},
 * {@code l_k = ln pi_k - (d/2) ln v_k - |x - mu_k|^2 / (2 v_k)}, {@code r = softmax(l)},
 * {@code D(x; sigma) = sum_k r_k (mu_k + (s_k^2 / v_k)(x - mu_k))}. That makes it the ground
 * truth for samplers, routing and guidance.
 */
public final class GaussianMixture {

    private final double[] logWeights;
    private final double[][] means;
    private final double[] variances;
    private final int dim;

    /**
     * @param weights positive mixture weights (only their ratios matter)
     * @param means   one mean of dimension d per component
     * @param stds    one standard deviation {@code >= 0} per component
     */
    public GaussianMixture(double[] weights, double[][] means, double[] stds) {
        int k = weights.length;
        if (k == 0 || means.length != k || stds.length != k) {
            throw new IllegalArgumentException("a mixture needs as many weights, means and stds, at least one; got "
                    + weights.length + ", " + means.length + ", " + stds.length);
        }
        dim = means[0].length;
        logWeights = new double[k];
        this.means = new double[k][];
        variances = new double[k];
        for (int i = 0; i < k; i++) {
            if (!(weights[i] > 0)) {
                throw new IllegalArgumentException("mixture weight " + i + " must be > 0, got " + weights[i]);
            }
            if (!(stds[i] >= 0)) {
                throw new IllegalArgumentException("mixture std " + i + " must be >= 0, got " + stds[i]);
            }
            if (means[i].length != dim) {
                throw new IllegalArgumentException("mixture mean " + i + " has dimension " + means[i].length
                        + ", mean 0 has " + dim);
            }
            logWeights[i] = Math.log(weights[i]);
            this.means[i] = means[i].clone();
            variances[i] = stds[i] * stds[i];
        }
    }

    /** {@return the dimension d of one sample} */
    public int dim() {
        return dim;
    }

    /** {@return the number of components} */
    public int components() {
        return logWeights.length;
    }

    /**
     * Weight of component {@code k}, normalized to sum 1.
     *
     * @param k the component
     * @return its weight
     */
    public double weight(int k) {
        double z = 0;
        for (double lw : logWeights) {
            z += Math.exp(lw);
        }
        return Math.exp(logWeights[k]) / z;
    }

    /**
     * Mean of component {@code k} (a copy).
     *
     * @param k the component
     * @return its mean
     */
    public double[] mean(int k) {
        return means[k].clone();
    }

    /**
     * Standard deviation of component {@code k}.
     *
     * @param k the component
     * @return its standard deviation
     */
    public double std(int k) {
        return Math.sqrt(variances[k]);
    }

    /**
     * Writes {@code D(x; sigma)} of the sample at {@code x[offset .. offset+d)} into {@code out} at the
     * same offset.
     *
     * @param x      the noisy batch
     * @param offset where the sample starts
     * @param sigma  the noise level
     * @param out    receives the exact denoiser's output
     * @param logits scratch of length {@link #components()}
     */
    public void denoise(double[] x, int offset, double sigma, double[] out, double[] logits) {
        int k = logWeights.length;
        double max = Double.NEGATIVE_INFINITY;
        double s2 = sigma * sigma;
        for (int c = 0; c < k; c++) {
            double v = variances[c] + s2;
            double dist = 0;
            double[] mu = means[c];
            for (int j = 0; j < dim; j++) {
                double diff = x[offset + j] - mu[j];
                dist += diff * diff;
            }
            double l = logWeights[c] - 0.5 * dim * Math.log(v) - dist / (2 * v);
            logits[c] = l;
            max = Math.max(max, l);
        }
        double z = 0;
        for (int c = 0; c < k; c++) {
            logits[c] = Math.exp(logits[c] - max);
            z += logits[c];
        }
        for (int j = 0; j < dim; j++) {
            out[offset + j] = 0;
        }
        for (int c = 0; c < k; c++) {
            double r = logits[c] / z;
            double shrink = variances[c] / (variances[c] + s2);
            double[] mu = means[c];
            for (int j = 0; j < dim; j++) {
                out[offset + j] += r * (mu[j] + shrink * (x[offset + j] - mu[j]));
            }
        }
    }
}
