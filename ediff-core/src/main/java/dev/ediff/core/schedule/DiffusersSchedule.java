package dev.ediff.core.schedule;

import dev.ediff.api.NoiseSchedule;
import dev.ediff.core.model.DiscreteVp;
import dev.ediff.core.model.FlowMatching;
import dev.ediff.core.model.Parameterization;

import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;

/**
 * The noise levels one diffusers scheduler derives from a {@link SchedulerConfig} for a number of
 * steps, in the SDK's sigma convention ({@code x = x0 + sigma eps}), with the timestep it feeds the
 * network at each level. Each scheduler derives its own: with "leading" spacing at 6 steps,
 * {@code EulerDiscreteScheduler} runs timesteps 831...1 and {@code DPMSolverMultistepScheduler}
 * 853...143, so a sampler reproduces a Python image only with the schedule of the scheduler it
 * matches ({@code euler} with {@link #eulerDiscrete}, {@code dpmpp_2m} with {@link #dpmSolverMultistep},
 * SD3's Euler with {@link #flowMatchEuler}).
 *
 * <p>Sigmas are float32-rounded as in diffusers. A flow-matching schedule starts at {@code t = 1},
 * where {@code sigma = t / (1 - t)} is infinite; its first sigma is {@link FlowMatching#SIGMA_CAP}
 * (the resulting latents differ from the exact limit by about {@code 1 / SIGMA_CAP}).
 *
 * @param timesteps          the network's timestep at each of the {@code steps} levels
 * @param sigmas             {@code steps + 1} sigmas, strictly decreasing, ending in 0
 * @param initialNoiseScale  the factor that turns unit Gaussian noise into the first sample in the
 *                           SDK's convention, reproducing the scheduler's own start (Euler with
 *                           "leading" spacing starts at {@code sqrt(sigma_0^2 + 1)}, not {@code sigma_0})
 * @param fallback           the timestep of a sigma that is not one of the levels (samplers that
 *                           evaluate between levels): log-sigma interpolation in the VP table, or
 *                           {@code T sigma / (1 + sigma)} for flow matching
 */
public record DiffusersSchedule(double[] timesteps, double[] sigmas, double initialNoiseScale,
                                DoubleUnaryOperator fallback) {

    /**
     * Validates and copies.
     *
     * @param timesteps         the network's timestep at each level
     * @param sigmas            {@code timesteps.length + 1} sigmas, strictly decreasing, ending in 0
     * @param initialNoiseScale the factor from unit noise to the first sample
     * @param fallback          the timestep of a sigma between levels
     */
    public DiffusersSchedule {
        sigmas = Schedules.validate(sigmas.clone());
        timesteps = timesteps.clone();
        if (timesteps.length != sigmas.length - 1) {
            throw new IllegalArgumentException(timesteps.length + " timesteps for " + (sigmas.length - 1) + " steps");
        }
    }

    /**
     * diffusers' {@code EulerDiscreteScheduler.set_timesteps} (linear interpolation, final sigma 0).
     *
     * @param config the folder's scheduler configuration
     * @param steps  number of inference steps, {@code >= 1}
     * @return the timesteps, sigmas and start scale that scheduler uses
     */
    public static DiffusersSchedule eulerDiscrete(SchedulerConfig config, int steps) {
        checkSteps(steps);
        int tCount = config.trainTimesteps();
        double[] ts = new double[steps];
        switch (config.spacing()) {
            case LINSPACE -> {
                // np.linspace(0, T-1, n, dtype=float32)[::-1]: k * ((T-1)/(n-1)), the end point exact
                double step = steps == 1 ? 0 : (tCount - 1.0) / (steps - 1);
                for (int i = 0; i < steps; i++) {
                    ts[i] = (float) (i == 0 && steps > 1 ? tCount - 1 : (steps - 1 - i) * step);
                }
            }
            case LEADING -> {
                int ratio = tCount / steps;
                for (int i = 0; i < steps; i++) {
                    ts[i] = (double) (steps - 1 - i) * ratio + config.stepsOffset();
                }
            }
            case TRAILING -> trailing(tCount, steps, ts);
        }
        double[] table = config.tableSigmas();
        double[] s = new double[steps + 1];
        for (int i = 0; i < steps; i++) {
            s[i] = interp(ts[i], table);
        }
        if (config.karrasSigmas()) {
            double[] k = karras(s[0], s[steps - 1], steps);
            double[] logTable = logOf(table);
            for (int i = 0; i < steps; i++) {
                s[i] = k[i];
                ts[i] = sigmaToT(k[i], logTable);
            }
        }
        roundToFloat(s);
        roundToFloat(ts);
        double scale = config.spacing() == DiscreteVp.Spacing.LEADING ? Math.sqrt(s[0] * s[0] + 1) : s[0];
        return new DiffusersSchedule(ts, s, scale, vpFallback(config));
    }

    /**
     * diffusers' {@code DPMSolverMultistepScheduler.set_timesteps} (integer timesteps, final sigma 0).
     * With Karras sigmas the network gets the rounded timestep of each sigma while the solver steps
     * with the sigma itself.
     *
     * @param config the folder's scheduler configuration
     * @param steps  number of inference steps, {@code >= 1}
     * @return the timesteps, sigmas and start scale that scheduler uses
     */
    public static DiffusersSchedule dpmSolverMultistep(SchedulerConfig config, int steps) {
        checkSteps(steps);
        int tCount = config.trainTimesteps();
        double[] ts = new double[steps];
        switch (config.spacing()) {
            case LINSPACE -> {
                // np.linspace(0, T-1, n+1).round()[::-1][:-1]: k * ((T-1)/n), the end point exact
                double step = (tCount - 1.0) / steps;
                for (int i = 0; i < steps; i++) {
                    ts[i] = i == 0 ? tCount - 1 : Math.rint((steps - i) * step);
                }
            }
            case LEADING -> {
                int ratio = tCount / (steps + 1);
                for (int i = 0; i < steps; i++) {
                    ts[i] = (double) (steps - i) * ratio + config.stepsOffset();
                }
            }
            case TRAILING -> trailing(tCount, steps, ts);
        }
        double[] table = config.tableSigmas();
        double[] s = new double[steps + 1];
        if (config.karrasSigmas()) {
            double[] k = karras(table[table.length - 1], table[0], steps);
            double[] logTable = logOf(table);
            for (int i = 0; i < steps; i++) {
                s[i] = k[i];
                ts[i] = Math.rint(sigmaToT(k[i], logTable));
            }
        } else {
            for (int i = 0; i < steps; i++) {
                s[i] = interp(ts[i], table);
            }
        }
        roundToFloat(s);
        // the solver works on alpha-scaled samples starting from unit noise: x_sdk = x_vp / alpha
        return new DiffusersSchedule(ts, s, Math.sqrt(s[0] * s[0] + 1), vpFallback(config));
    }

    /**
     * diffusers' {@code FlowMatchEulerDiscreteScheduler.set_timesteps} with a static shift. The
     * training table's smallest level is shifted once when the scheduler is built and the inference
     * levels, spaced up to it, are shifted again: with shift 3 and 6 steps the last timestep is 8.93,
     * not 2.99.
     *
     * @param config the folder's scheduler configuration
     * @param steps  number of inference steps, {@code >= 1}
     * @return the timesteps, sigmas and start scale that scheduler uses
     * @throws IllegalArgumentException if {@code config} is not a flow-matching scheduler
     */
    public static DiffusersSchedule flowMatchEuler(SchedulerConfig config, int steps) {
        checkSteps(steps);
        if (config.prediction() != SchedulerConfig.Prediction.FLOW) {
            throw new IllegalArgumentException(config.className() + " is not a flow-matching scheduler; expected "
                    + SchedulerConfig.FLOW_MATCH_EULER);
        }
        int tCount = config.trainTimesteps();
        float shift = (float) config.shift();
        float smin32 = (float) (1.0 / tCount);
        smin32 = shift * smin32 / (1 + (shift - 1) * smin32);
        float smax32 = 1f; // shift(1) = 1 for every shift
        double hi = (double) smax32 * tCount;
        double lo = (double) smin32 * tCount;
        double[] ts = new double[steps];
        double[] s = new double[steps + 1];
        for (int i = 0; i < steps; i++) {
            double t = steps == 1 ? hi : hi + i * ((lo - hi) / (steps - 1));
            double sig = t / tCount;
            sig = config.shift() * sig / (1 + (config.shift() - 1) * sig);
            float sig32 = (float) sig;
            ts[i] = sig32 * (float) tCount;
            s[i] = FlowMatching.sigmaOf(sig32);
        }
        if (steps > 1) {
            // np.linspace puts the end point exactly
            double sig = lo / tCount;
            sig = config.shift() * sig / (1 + (config.shift() - 1) * sig);
            float sig32 = (float) sig;
            ts[steps - 1] = sig32 * (float) tCount;
            s[steps - 1] = FlowMatching.sigmaOf(sig32);
        }
        double scale = 1 + s[0];
        return new DiffusersSchedule(ts, s, scale, sigma -> tCount * FlowMatching.tOf(sigma));
    }

    /**
     * The schedule of the scheduler that SDK sampler {@code sampler} reproduces: {@code dpmpp_2m} ->
     * DPM-Solver multistep; every other sampler -> Euler discrete (or flow-match Euler for a flow
     * model).
     *
     * @param sampler the SDK sampler's name ({@code euler}, {@code dpmpp_2m}, ...)
     * @param config the folder's scheduler configuration
     * @param steps  number of inference steps, {@code >= 1}
     * @return the timesteps, sigmas and start scale that scheduler uses
     */
    public static DiffusersSchedule forSampler(String sampler, SchedulerConfig config, int steps) {
        if (config.prediction() == SchedulerConfig.Prediction.FLOW) {
            return flowMatchEuler(config, steps);
        }
        return sampler.equals("dpmpp_2m") ? dpmSolverMultistep(config, steps) : eulerDiscrete(config, steps);
    }

    /** @return the number of steps */
    public int steps() {
        return timesteps.length;
    }

    /** @return the {@code steps + 1} sigmas (a copy) */
    @Override
    public double[] sigmas() {
        return sigmas.clone();
    }

    /** @return the {@code steps} timesteps (a copy) */
    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /**
     * How the network's output becomes the denoiser at each sigma, with this schedule's timesteps as
     * the noise input: eps or v prediction of a VP model (sigma_data 1, input scaled by
     * {@code 1 / sqrt(sigma^2 + 1)}), or the flow velocity ({@link FlowMatching#velocity}).
     *
     * @param prediction what the network predicts
     * @return the parameterization whose noise input follows this schedule's timesteps
     */
    public Parameterization parameterization(SchedulerConfig.Prediction prediction) {
        return switch (prediction) {
            case EPSILON -> Parameterization.eps(1.0, this::timestepOf);
            case V_PREDICTION -> Parameterization.v(1.0, this::timestepOf);
            case FLOW -> FlowMatching.velocity(this::timestepOf);
        };
    }

    /** @return this schedule as a {@link NoiseSchedule} fixed to its own sigmas */
    public NoiseSchedule noiseSchedule() {
        return Schedules.explicit(sigmas);
    }

    /**
     * The network timestep for {@code sigma}: the scheduler's own timestep when sigma is one of its
     * levels (exactly, as diffusers feeds it), else the {@link #fallback}.
     *
     * @param sigma an SDK sigma
     * @return the timestep to feed the network
     */
    public double timestepOf(double sigma) {
        for (int i = 0; i < timesteps.length; i++) {
            if (sigmas[i] == sigma) {
                return timesteps[i];
            }
        }
        return fallback.applyAsDouble(sigma);
    }

    /**
     * How many leading steps a pipeline with {@code denoising_end = fraction} runs (diffusers keeps
     * the timesteps {@code >= round(T - fraction T)}); the refiner runs the rest, so the boundary
     * sigma is {@code sigmas[split]}.
     *
     * @param fraction       {@code denoising_end}, in (0, 1)
     * @param trainTimesteps the scheduler's {@code num_train_timesteps}
     * @return the number of steps the base runs
     */
    public int splitIndex(double fraction, int trainTimesteps) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("denoising_end must be in (0, 1), got " + fraction);
        }
        long cutoff = Math.round(trainTimesteps - fraction * trainTimesteps);
        int n = 0;
        for (double t : timesteps) {
            if (t >= cutoff) {
                n++;
            }
        }
        return n;
    }

    /**
     * The sigma boundary of a base/refiner split at {@code denoising_end = fraction}, for routing
     * by noise level: the base's last level. An expert on {@code [boundary, inf)} gets exactly the
     * base's levels and one on {@code [0, boundary)} the refiner's.
     *
     * @param fraction       {@code denoising_end}, in (0, 1)
     * @param trainTimesteps the scheduler's {@code num_train_timesteps}
     * @return the sigma of the base's last step
     * @throws IllegalArgumentException if the split leaves either expert no step
     */
    public double refinerBoundary(double fraction, int trainTimesteps) {
        int split = splitIndex(fraction, trainTimesteps);
        if (split == 0 || split == steps()) {
            throw new IllegalArgumentException("denoising_end " + fraction + " leaves " + (split == 0 ? "the base" : "the refiner")
                    + " no step of " + steps() + "; use more steps or another fraction");
        }
        return sigmas[split - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DiffusersSchedule d && Arrays.equals(timesteps, d.timesteps)
                && Arrays.equals(sigmas, d.sigmas) && initialNoiseScale == d.initialNoiseScale;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(timesteps) + Arrays.hashCode(sigmas);
    }

    @Override
    public String toString() {
        return "DiffusersSchedule[timesteps=" + Arrays.toString(timesteps) + ", sigmas=" + Arrays.toString(sigmas) + "]";
    }

    private static void trailing(int tCount, int steps, double[] ts) {
        // np.arange(T, 0, -T/n).round() - 1
        double ratio = (double) tCount / steps;
        for (int i = 0; i < steps; i++) {
            ts[i] = Math.rint(tCount - i * ratio) - 1;
        }
    }

    private static DoubleUnaryOperator vpFallback(SchedulerConfig config) {
        DiscreteVp vp = config.discreteVp();
        return vp::timestepOf;
    }

    /** np.interp(t, arange(T), table): linear in sigma between integer timesteps. */
    private static double interp(double t, double[] table) {
        if (t <= 0) {
            return table[0];
        }
        if (t >= table.length - 1) {
            return table[table.length - 1];
        }
        int lo = (int) Math.floor(t);
        double w = t - lo;
        return w == 0 ? table[lo] : table[lo] + w * (table[lo + 1] - table[lo]);
    }

    private static double[] karras(double sigmaMax, double sigmaMin, int n) {
        double rho = 7;
        double a = Math.pow(sigmaMax, 1 / rho);
        double b = Math.pow(sigmaMin, 1 / rho);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double ramp = n == 1 ? 0 : (double) i / (n - 1);
            out[i] = Math.pow(a + ramp * (b - a), rho);
        }
        return out;
    }

    /** diffusers' _sigma_to_t: linear interpolation in log sigma (float32 logs) between neighbours. */
    private static double sigmaToT(double sigma, double[] logTable) {
        double ls = Math.log(Math.max(sigma, 1e-10));
        int n = logTable.length;
        int count = 0;
        for (double l : logTable) {
            if (ls - l >= 0) {
                count++;
            }
        }
        int low = Math.max(0, Math.min(count - 1, n - 2));
        double lo = logTable[low];
        double hi = logTable[low + 1];
        double w = Math.max(0, Math.min(1, (lo - ls) / (lo - hi)));
        return (1 - w) * low + w * (low + 1);
    }

    private static double[] logOf(double[] table) {
        double[] out = new double[table.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) Math.log(table[i]);
        }
        return out;
    }

    private static void roundToFloat(double[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) a[i];
        }
    }

    private static void checkSteps(int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
    }
}
