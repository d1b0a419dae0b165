package dev.ediff.core.model;

import java.util.Arrays;

/**
 * A discrete-time variance-preserving model's noise table: {@code alphas_cumprod[t]} for
 * {@code t = 0 .. T-1}, {@code sigma_t = sqrt((1 - a_t) / a_t)}. Maps sigma to a fractional timestep
 * by linear interpolation in log sigma, and back.
 */
public final class DiscreteVp {

    /** How sampling timesteps are spread over {@code [0, T-1]}. */
    public enum Spacing {
        /** {@code linspace(T-1, 0, n)} (k-diffusion, diffusers "linspace"); fractional timesteps allowed. */
        LINSPACE,
        /** {@code (n-1-i) * (T / n)}, integer (diffusers "leading", without the steps offset). */
        LEADING,
        /** {@code round(T - i T / n) - 1}, integer (diffusers "trailing"). */
        TRAILING
    }

    private final double[] logSigmas;

    /**
     * @param alphasCumprod the cumulative products of alpha, each in (0, 1), strictly decreasing
     */
    public DiscreteVp(double[] alphasCumprod) {
        if (alphasCumprod.length < 2) {
            throw new IllegalArgumentException("alphas_cumprod needs at least 2 entries, got " + alphasCumprod.length);
        }
        logSigmas = new double[alphasCumprod.length];
        for (int t = 0; t < alphasCumprod.length; t++) {
            double a = alphasCumprod[t];
            if (!(a > 0 && a < 1)) {
                throw new IllegalArgumentException("alphas_cumprod[" + t + "] = " + a + " must be in (0, 1)");
            }
            if (t > 0 && !(a < alphasCumprod[t - 1])) {
                throw new IllegalArgumentException("alphas_cumprod must be strictly decreasing at index " + t);
            }
            logSigmas[t] = 0.5 * Math.log((1 - a) / a);
        }
    }

    /**
     * The "scaled linear" beta schedule of Stable Diffusion 1.x/2.x (beta 0.00085 to 0.012, 1000 steps).
     *
     * @param timesteps the number of timesteps T
     * @param betaStart beta at t = 0
     * @param betaEnd   beta at t = T-1
     * @return the table
     */
    public static DiscreteVp scaledLinear(int timesteps, double betaStart, double betaEnd) {
        double[] ac = new double[timesteps];
        double prod = 1;
        double a = Math.sqrt(betaStart);
        double b = Math.sqrt(betaEnd);
        for (int t = 0; t < timesteps; t++) {
            double r = timesteps == 1 ? 0 : (double) t / (timesteps - 1);
            double beta = Math.pow(a + r * (b - a), 2);
            prod *= 1 - beta;
            ac[t] = prod;
        }
        return new DiscreteVp(ac);
    }

    /** {@return number of timesteps T} */
    public int timesteps() {
        return logSigmas.length;
    }

    /** {@return the smallest sigma of the table ({@code t = 0})} */
    public double sigmaMin() {
        return Math.exp(logSigmas[0]);
    }

    /** {@return the largest sigma of the table ({@code t = T-1})} */
    public double sigmaMax() {
        return Math.exp(logSigmas[logSigmas.length - 1]);
    }

    /**
     * sigma at a (fractional) timestep, interpolating log sigma linearly.
     *
     * @param t the timestep in {@code [0, T-1]}
     * @return sigma
     */
    public double sigmaAt(double t) {
        if (!(t >= 0 && t <= logSigmas.length - 1)) {
            throw new IllegalArgumentException("timestep " + t + " outside [0, " + (logSigmas.length - 1) + "]");
        }
        int lo = (int) Math.floor(t);
        int hi = Math.min(lo + 1, logSigmas.length - 1);
        double w = t - lo;
        return Math.exp((1 - w) * logSigmas[lo] + w * logSigmas[hi]);
    }

    /**
     * The fractional timestep of {@code sigma}: the inverse of {@link #sigmaAt} inside the table's range.
     *
     * @param sigma the noise level
     * @return the timestep, clamped to {@code [0, T-1]}
     */
    public double timestepOf(double sigma) {
        double ls = Math.log(sigma);
        if (ls <= logSigmas[0]) {
            return 0;
        }
        int n = logSigmas.length;
        if (ls >= logSigmas[n - 1]) {
            return n - 1;
        }
        int idx = Arrays.binarySearch(logSigmas, ls);
        if (idx >= 0) {
            return idx;
        }
        int hi = -idx - 1;
        int lo = hi - 1;
        return lo + (ls - logSigmas[lo]) / (logSigmas[hi] - logSigmas[lo]);
    }

    /**
     * {@code n} sampling timesteps, largest first.
     *
     * @param n       the number of timesteps
     * @param spacing how they are spread over the table
     * @return the timesteps
     */
    public double[] timesteps(int n, Spacing spacing) {
        int tMax = logSigmas.length - 1;
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = switch (spacing) {
                case LINSPACE -> n == 1 ? tMax : tMax - (double) i * tMax / (n - 1);
                case LEADING -> (double) (n - 1 - i) * (logSigmas.length / n);
                case TRAILING -> Math.max(0, Math.round(logSigmas.length - (double) i * logSigmas.length / n) - 1);
            };
        }
        return t;
    }
}
