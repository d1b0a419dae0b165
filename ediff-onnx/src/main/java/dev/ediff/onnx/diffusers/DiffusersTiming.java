package dev.ediff.onnx.diffusers;

import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.Sampler;
import dev.ediff.core.model.FlowMatching;
import dev.ediff.core.model.Parameterization;
import dev.ediff.core.schedule.DiffusersSchedule;
import dev.ediff.core.schedule.SchedulerConfig;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A folder's scheduler configuration as the stage's {@link NoiseSchedule} and as the experts'
 * sigma-to-timestep map. The levels of a run are those of the diffusers scheduler the sampler
 * reproduces ({@link DiffusersSchedule#forSampler}: {@code dpmpp_2m} -> DPM-Solver multistep, every
 * other sampler -> Euler discrete, or flow-match Euler on SD3), started the way that scheduler
 * starts. The network then receives exactly the timestep that scheduler feeds at each of its levels
 * (an int64 graph would otherwise see a truncated near-integer); a sigma that is not one of the
 * levels computed so far (samplers that evaluate between levels, explicit sigma lists) gets the
 * schedule's interpolated timestep. Thread-safe.
 */
final class DiffusersTiming implements NoiseSchedule {

    private final SchedulerConfig config;
    private final Map<String, DiffusersSchedule> schedules = new ConcurrentHashMap<>();
    private final Map<Double, Double> levels = new ConcurrentHashMap<>();
    private final DiffusersSchedule probe;
    private final double[] table;

    DiffusersTiming(SchedulerConfig config) {
        this.config = config;
        this.probe = DiffusersSchedule.forSampler("euler", config, 2);
        this.table = config.prediction() == SchedulerConfig.Prediction.FLOW ? null : config.tableSigmas();
    }

    /** The configuration. */
    SchedulerConfig config() {
        return config;
    }

    /** The diffusers schedule {@code sampler} reproduces at {@code steps} steps (cached). */
    DiffusersSchedule schedule(String sampler, int steps) {
        String kind = sampler.equals("dpmpp_2m") && config.prediction() != SchedulerConfig.Prediction.FLOW ? "dpm" : "euler";
        return schedules.computeIfAbsent(kind + ":" + steps, k -> {
            DiffusersSchedule s = DiffusersSchedule.forSampler(sampler, config, steps);
            double[] sig = s.sigmas();
            double[] ts = s.timesteps();
            for (int i = 0; i < ts.length; i++) {
                levels.putIfAbsent(sig[i], ts[i]);
            }
            return s;
        });
    }

    @Override
    public double[] sigmas(int steps) {
        return schedule("euler", steps).sigmas();
    }

    @Override
    public double[] sigmas(int steps, Sampler sampler) {
        return schedule(sampler.name(), steps).sigmas();
    }

    @Override
    public double initialNoiseScale(double[] sigmas, Sampler sampler) {
        DiffusersSchedule s = schedule(sampler.name(), sigmas.length - 1);
        if (Arrays.equals(s.sigmas(), sigmas)) {
            return s.initialNoiseScale();
        }
        // other levels: unit noise in the model's own space (x_vp, or x_t at t = 1), in SDK units
        return config.prediction() == SchedulerConfig.Prediction.FLOW ? 1 + sigmas[0]
                : Math.sqrt(sigmas[0] * sigmas[0] + 1);
    }

    /**
     * The timestep fed to the network at {@code sigma}: the level's own timestep; else, for a VP
     * model, the inverse of Euler's linear interpolation of the float32 training sigmas (a sigma of
     * the table maps back to its integer timestep exactly, so a level walked again from an explicit
     * sigma list, e.g. regenerated from a PNG's parameters, reaches an int64 graph unchanged); else
     * the schedule's interpolated timestep.
     */
    double timestepOf(double sigma) {
        Double t = levels.get(sigma);
        if (t != null) {
            return t;
        }
        if (table != null && sigma >= table[0] && sigma <= table[table.length - 1]) {
            int k = java.util.Arrays.binarySearch(table, sigma);
            if (k >= 0) {
                return k;
            }
            int hi = -k - 1;
            int lo = hi - 1;
            return lo + (sigma - table[lo]) / (table[hi] - table[lo]);
        }
        return probe.fallback().applyAsDouble(sigma);
    }

    /** How the network's output becomes the denoiser, with {@link #timestepOf} as its noise input. */
    Parameterization parameterization() {
        return switch (config.prediction()) {
            case EPSILON -> Parameterization.eps(1.0, this::timestepOf);
            case V_PREDICTION -> Parameterization.v(1.0, this::timestepOf);
            case FLOW -> FlowMatching.velocity(this::timestepOf);
        };
    }

    @Override
    public String toString() {
        return "diffusers(" + config.className() + ")";
    }
}
