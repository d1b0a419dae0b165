package dev.ediff.core.schedule;

import dev.ediff.api.NoiseSchedule;
import dev.ediff.core.model.DiscreteVp;

import java.util.Arrays;

/**
 * The standard noise schedules. Each returns {@code steps + 1} strictly decreasing sigmas ending
 * in 0. With {@code ramp_i = i / (steps - 1)} ({@code 0} when {@code steps == 1}):
 * <ul>
 *   <li>Karras: {@code (smax^(1/rho) + ramp_i (smin^(1/rho) - smax^(1/rho)))^rho}</li>
 *   <li>exponential: {@code exp(ln smax + ramp_i (ln smin - ln smax))}</li>
 * </ul>
 */
public final class Schedules {

    private Schedules() {
    }

    /**
     * Karras et al. (2022) schedule; EDM uses smin 0.002, smax 80, rho 7.
     *
     * @param sigmaMin the smallest nonzero sigma
     * @param sigmaMax the largest sigma
     * @param rho      the curvature
     * @return the schedule
     */
    public static NoiseSchedule karras(double sigmaMin, double sigmaMax, double rho) {
        checkRange(sigmaMin, sigmaMax);
        if (!Double.isFinite(rho) || rho <= 0) {
            throw new IllegalArgumentException("rho must be finite and > 0, got " + rho);
        }
        double minInvRho = Math.pow(sigmaMin, 1 / rho);
        double maxInvRho = Math.pow(sigmaMax, 1 / rho);
        return steps -> {
            double[] s = new double[checkSteps(steps) + 1];
            for (int i = 0; i < steps; i++) {
                s[i] = Math.pow(maxInvRho + ramp(i, steps) * (minInvRho - maxInvRho), rho);
            }
            return s;
        };
    }

    /** {@return EDM's defaults: Karras with smin 0.002, smax 80, rho 7} */
    public static NoiseSchedule edm() {
        return karras(0.002, 80, 7);
    }

    /**
     * Uniform in log sigma between {@code sigmaMax} and {@code sigmaMin}.
     *
     * @param sigmaMin the smallest nonzero sigma
     * @param sigmaMax the largest sigma
     * @return the schedule
     */
    public static NoiseSchedule exponential(double sigmaMin, double sigmaMax) {
        checkRange(sigmaMin, sigmaMax);
        double lmin = Math.log(sigmaMin);
        double lmax = Math.log(sigmaMax);
        return steps -> {
            double[] s = new double[checkSteps(steps) + 1];
            for (int i = 0; i < steps; i++) {
                s[i] = Math.exp(lmax + ramp(i, steps) * (lmin - lmax));
            }
            return s;
        };
    }

    /**
     * An explicit sigma list used as is (the step count must equal {@code sigmas.length - 1}).
     *
     * @param sigmas strictly decreasing, non-negative, ending in 0
     * @return the schedule
     */
    public static NoiseSchedule explicit(double... sigmas) {
        double[] copy = validate(sigmas.clone());
        return steps -> {
            if (steps != copy.length - 1) {
                throw new IllegalArgumentException("this explicit schedule has " + (copy.length - 1)
                        + " steps, but " + steps + " were asked for");
            }
            return copy.clone();
        };
    }

    /**
     * The discrete-time "timestep" spacing of a VP model: timesteps spaced over {@code [0, T-1]},
     * mapped to sigma with the model's table (log-sigma interpolation), then a final 0.
     *
     * @param model   the model's table
     * @param spacing how the timesteps are spread
     * @return the schedule
     */
    public static NoiseSchedule vpTimesteps(DiscreteVp model, DiscreteVp.Spacing spacing) {
        return steps -> {
            double[] t = model.timesteps(checkSteps(steps), spacing);
            double[] s = new double[steps + 1];
            for (int i = 0; i < steps; i++) {
                s[i] = model.sigmaAt(t[i]);
            }
            return validate(s);
        };
    }

    /**
     * Checks that {@code sigmas} is a usable sigma list: at least 2 entries, finite, non-negative,
     * strictly decreasing, ending in 0.
     *
     * @param sigmas the sigma list
     * @return {@code sigmas}
     * @throws IllegalArgumentException naming the first offending index
     */
    public static double[] validate(double[] sigmas) {
        if (sigmas.length < 2) {
            throw new IllegalArgumentException("a sigma list needs at least 2 entries (one step), got "
                    + Arrays.toString(sigmas));
        }
        for (int i = 0; i < sigmas.length; i++) {
            if (!Double.isFinite(sigmas[i]) || sigmas[i] < 0) {
                throw new IllegalArgumentException("sigma[" + i + "] = " + sigmas[i] + " must be finite and >= 0");
            }
            if (i > 0 && !(sigmas[i] < sigmas[i - 1])) {
                throw new IllegalArgumentException("sigmas must be strictly decreasing, but sigma[" + i + "] = "
                        + sigmas[i] + " >= sigma[" + (i - 1) + "] = " + sigmas[i - 1]);
            }
        }
        if (sigmas[sigmas.length - 1] != 0) {
            throw new IllegalArgumentException("a sigma list must end in 0, got " + sigmas[sigmas.length - 1]);
        }
        return sigmas;
    }

    private static double ramp(int i, int steps) {
        return steps == 1 ? 0.0 : (double) i / (steps - 1);
    }

    private static int checkSteps(int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        return steps;
    }

    private static void checkRange(double sigmaMin, double sigmaMax) {
        if (!(sigmaMin > 0) || !Double.isFinite(sigmaMax) || !(sigmaMin < sigmaMax)) {
            throw new IllegalArgumentException("need 0 < sigma_min < sigma_max < inf, got sigma_min=" + sigmaMin
                    + ", sigma_max=" + sigmaMax);
        }
    }
}
