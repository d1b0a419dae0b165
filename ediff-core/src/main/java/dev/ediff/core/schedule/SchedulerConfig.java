package dev.ediff.core.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.core.model.DiscreteVp;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The fields of a diffusers {@code scheduler/scheduler_config.json} that decide the noise levels and
 * what the network predicts. Missing fields take diffusers' defaults for the named class.
 *
 * @param className        {@code _class_name}, e.g. {@code EulerDiscreteScheduler}
 * @param trainTimesteps   {@code num_train_timesteps} (T)
 * @param betaStart        {@code beta_start}
 * @param betaEnd          {@code beta_end}
 * @param betaSchedule     {@code beta_schedule}: {@code scaled_linear} or {@code linear}
 * @param stepsOffset      {@code steps_offset}, added to "leading" timesteps
 * @param spacing          {@code timestep_spacing}
 * @param prediction       {@code prediction_type} (flow matching for {@code FlowMatchEulerDiscreteScheduler})
 * @param karrasSigmas     {@code use_karras_sigmas}
 * @param shift            {@code shift} of the flow-matching schedule (1 for the others)
 */
public record SchedulerConfig(String className, int trainTimesteps, double betaStart, double betaEnd,
                              String betaSchedule, int stepsOffset, DiscreteVp.Spacing spacing,
                              Prediction prediction, boolean karrasSigmas, double shift) {

    /** The class name of diffusers' flow-matching Euler scheduler (SD3). */
    public static final String FLOW_MATCH_EULER = "FlowMatchEulerDiscreteScheduler";

    /** What the network outputs. */
    public enum Prediction {
        /** The noise eps ({@code prediction_type} "epsilon"). */
        EPSILON,
        /** The velocity {@code alpha eps - sigma x0} of a VP model ({@code prediction_type} "v_prediction"). */
        V_PREDICTION,
        /** The flow velocity {@code eps - x0} of a rectified-flow model (SD3). */
        FLOW
    }

    /**
     * Checks the values.
     *
     * @param className      the scheduler's {@code _class_name}
     * @param trainTimesteps {@code num_train_timesteps} (T)
     * @param betaStart      {@code beta_start} (VP schedulers)
     * @param betaEnd        {@code beta_end} (VP schedulers)
     * @param betaSchedule   {@code beta_schedule}: "scaled_linear" or "linear" (VP schedulers)
     * @param stepsOffset    {@code steps_offset}, added to "leading" timesteps
     * @param spacing        {@code timestep_spacing}
     * @param prediction     what the network predicts ({@code prediction_type}, or flow for SD3)
     * @param karrasSigmas   {@code use_karras_sigmas}
     * @param shift          the flow-matching {@code shift} (1 for VP schedulers)
     */
    public SchedulerConfig {
        if (trainTimesteps < 2) {
            throw new IllegalArgumentException("num_train_timesteps must be >= 2, got " + trainTimesteps);
        }
        if (prediction != Prediction.FLOW) {
            if (!betaSchedule.equals("scaled_linear") && !betaSchedule.equals("linear")) {
                throw new IllegalArgumentException("beta_schedule '" + betaSchedule
                        + "' is not supported; expected 'scaled_linear' or 'linear'");
            }
            if (!(betaStart > 0 && betaStart < betaEnd && betaEnd < 1)) {
                throw new IllegalArgumentException("need 0 < beta_start < beta_end < 1, got " + betaStart + ", " + betaEnd);
            }
        }
        if (!(shift > 0) || !Double.isFinite(shift)) {
            throw new IllegalArgumentException("shift must be finite and > 0, got " + shift);
        }
    }

    /**
     * Reads {@code scheduler_config.json}; a bad or unsupported value is named with the file.
     *
     * @param file the {@code scheduler_config.json} to read
     * @return the parsed configuration
     * @throws IllegalArgumentException naming the file and the value that is wrong or unsupported
     */
    public static SchedulerConfig read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the scheduler config: " + e.getMessage(), e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses the JSON object of a {@code scheduler_config.json}, with diffusers' defaults for absent keys.
     *
     * @param root the JSON object
     * @return the parsed configuration
     * @throws IllegalArgumentException naming the value that is wrong or unsupported
     */
    public static SchedulerConfig parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        String cls = root.path("_class_name").asText("");
        boolean flow = cls.equals(FLOW_MATCH_EULER);
        String spacingName = root.path("timestep_spacing").asText(defaultSpacing(cls));
        DiscreteVp.Spacing spacing = switch (spacingName) {
            case "leading" -> DiscreteVp.Spacing.LEADING;
            case "trailing" -> DiscreteVp.Spacing.TRAILING;
            case "linspace" -> DiscreteVp.Spacing.LINSPACE;
            default -> throw new IllegalArgumentException("timestep_spacing '" + spacingName
                    + "' is not supported; expected 'leading', 'trailing' or 'linspace'");
        };
        Prediction prediction;
        if (flow) {
            prediction = Prediction.FLOW;
        } else {
            String p = root.path("prediction_type").asText("epsilon");
            prediction = switch (p) {
                case "epsilon" -> Prediction.EPSILON;
                case "v_prediction" -> Prediction.V_PREDICTION;
                default -> throw new IllegalArgumentException("prediction_type '" + p
                        + "' is not supported; expected 'epsilon' or 'v_prediction'");
            };
        }
        if (!root.path("trained_betas").isMissingNode() && !root.path("trained_betas").isNull()) {
            throw new IllegalArgumentException("trained_betas is not supported; expected null (a beta_schedule)");
        }
        if (root.path("rescale_betas_zero_snr").asBoolean(false)) {
            throw new IllegalArgumentException("rescale_betas_zero_snr is not supported; expected false");
        }
        requireValue(root, "final_sigmas_type", "zero");
        requireValue(root, "interpolation_type", "linear");
        requireValue(root, "timestep_type", "discrete");
        for (String unsupported : new String[] {"use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
                "use_flow_sigmas"}) {
            if (root.path(unsupported).asBoolean(false)) {
                throw new IllegalArgumentException(unsupported + " is not supported; expected false");
            }
        }
        if (flow && root.path("use_dynamic_shifting").asBoolean(false)) {
            throw new IllegalArgumentException("use_dynamic_shifting is not supported; expected false (a static shift)");
        }
        return new SchedulerConfig(cls, root.path("num_train_timesteps").asInt(1000),
                root.path("beta_start").asDouble(0.0001), root.path("beta_end").asDouble(0.02),
                root.path("beta_schedule").asText("linear").toLowerCase(Locale.ROOT),
                root.path("steps_offset").asInt(0), spacing, prediction,
                root.path("use_karras_sigmas").asBoolean(false), flow ? root.path("shift").asDouble(1.0) : 1.0);
    }

    /** A string field that, when present and not null, must have the one value reproduced here. */
    private static void requireValue(JsonNode root, String field, String expected) {
        JsonNode n = root.get(field);
        if (n != null && !n.isNull() && !n.asText().equals(expected)) {
            throw new IllegalArgumentException(field + " '" + n.asText() + "' is not supported; expected '" + expected + "'");
        }
    }

    private static String defaultSpacing(String cls) {
        // PNDM and DDIM default to "leading"; Euler and DPM-Solver to "linspace"
        return cls.startsWith("PNDM") || cls.startsWith("DDIM") ? "leading" : "linspace";
    }

    /**
     * The same configuration with {@code use_karras_sigmas} set to {@code karras}.
     *
     * @param karras whether the schedulers space their sigmas as Karras et al.
     * @return a copy differing only in that flag
     */
    public SchedulerConfig withKarrasSigmas(boolean karras) {
        return new SchedulerConfig(className, trainTimesteps, betaStart, betaEnd, betaSchedule, stepsOffset, spacing,
                prediction, karras, shift);
    }

    /**
     * {@code sigma_t = sqrt((1 - a_t) / a_t)} for {@code t = 0 .. T-1}, computed in float32 as
     * diffusers does (float32 linspace and powers, cumulative product accumulated in double and stored
     * as float32): parity with the Python pipelines depends on it.
     *
     * @return T training sigmas, increasing with t
     */
    public double[] tableSigmas() {
        requireVp();
        float[] ac = alphasCumprod();
        double[] s = new double[ac.length];
        for (int t = 0; t < ac.length; t++) {
            float ratio = (1f - ac[t]) / ac[t];
            s[t] = (float) Math.sqrt(ratio);
        }
        return s;
    }

    /**
     * The model's noise table (float32 {@code alphas_cumprod}) for sigma/timestep conversions.
     *
     * @return the discrete VP table of this configuration
     */
    public DiscreteVp discreteVp() {
        requireVp();
        float[] ac = alphasCumprod();
        double[] d = new double[ac.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = ac[i];
        }
        return new DiscreteVp(d);
    }

    private float[] alphasCumprod() {
        boolean scaled = betaSchedule.equals("scaled_linear");
        float[] betas = linspace32(scaled ? (float) Math.sqrt(betaStart) : (float) betaStart,
                scaled ? (float) Math.sqrt(betaEnd) : (float) betaEnd, trainTimesteps);
        float[] ac = new float[trainTimesteps];
        double acc = 1;
        for (int t = 0; t < trainTimesteps; t++) {
            float beta = scaled ? betas[t] * betas[t] : betas[t];
            acc *= 1f - beta;
            ac[t] = (float) acc;
        }
        return ac;
    }

    /**
     * torch.linspace in float32: a float32 step, the first half counted up from start and the second
     * down from end, each value one fused multiply-add (bit-exact with torch's CPU kernel).
     */
    static float[] linspace32(float start, float end, int n) {
        float[] out = new float[n];
        float step = (end - start) / (n - 1);
        int half = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < half ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (n - 1 - i), end);
        }
        return out;
    }

    private void requireVp() {
        if (prediction == Prediction.FLOW) {
            throw new IllegalStateException(className + " is a flow-matching scheduler; it has no VP noise table");
        }
    }
}
