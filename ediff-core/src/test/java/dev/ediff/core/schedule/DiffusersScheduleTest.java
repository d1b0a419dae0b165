package dev.ediff.core.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.core.model.FlowMatching;
import org.junit.jupiter.api.Test;

import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The schedules against tools/public_models/schedulers.py, an independent Python implementation of
 * diffusers' set_timesteps (float32 torch table, float64 numpy spacing), over a grid of
 * configurations: both schedulers, three spacings, Karras on/off, two beta schedules, 1-25 steps.
 */
class DiffusersScheduleTest {

    /** float32 rounding of the reference plus the last digit of its float64 printing. */
    private static final double SIGMA_REL = 3e-7;

    private static JsonNode cases() throws Exception {
        try (InputStream in = DiffusersScheduleTest.class.getResourceAsStream("/diffusers/schedules.json")) {
            return new ObjectMapper().readTree(in).get("cases");
        }
    }

    private static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    @Test
    void everyConfigurationMatchesThePythonReference() throws Exception {
        int checked = 0;
        for (JsonNode c : cases()) {
            String kind = c.get("scheduler").asText();
            if (kind.equals("table")) {
                continue;
            }
            ObjectMapper m = new ObjectMapper();
            com.fasterxml.jackson.databind.node.ObjectNode cfgJson = (com.fasterxml.jackson.databind.node.ObjectNode) c.get("config").deepCopy();
            cfgJson.put("_class_name", switch (kind) {
                case "euler" -> "EulerDiscreteScheduler";
                case "dpmpp_2m" -> "DPMSolverMultistepScheduler";
                default -> SchedulerConfig.FLOW_MATCH_EULER;
            });
            SchedulerConfig cfg = SchedulerConfig.parse(cfgJson);
            int steps = c.get("steps").asInt();
            DiffusersSchedule s = switch (kind) {
                case "euler" -> DiffusersSchedule.eulerDiscrete(cfg, steps);
                case "dpmpp_2m" -> DiffusersSchedule.dpmSolverMultistep(cfg, steps);
                default -> DiffusersSchedule.flowMatchEuler(cfg, steps);
            };
            String label = kind + " " + cfgJson + " steps=" + steps;
            double[] refT = doubles(c.get("timesteps"));
            double[] refS = doubles(c.get("sigmas"));
            assertEquals(refT.length, s.steps(), label);
            double[] t = s.timesteps();
            double[] sig = s.sigmas();
            for (int i = 0; i < refT.length; i++) {
                assertEquals(refT[i], t[i], 1e-4 * Math.max(1, Math.abs(refT[i])), label + " timestep " + i);
                double expected = kind.equals("flow_euler") ? FlowMatching.sigmaOf(refS[i]) : refS[i];
                assertEquals(expected, sig[i], SIGMA_REL * Math.max(1e-3, expected), label + " sigma " + i);
            }
            assertEquals(0.0, sig[steps]);
            if (c.has("init_noise_sigma")) {
                assertEquals(c.get("init_noise_sigma").asDouble(), s.initialNoiseScale(), 1e-6 * s.initialNoiseScale(), label);
            }
            checked++;
        }
        assertTrue(checked >= 80, "checked " + checked);
    }

    @Test
    void theNoiseTableIsDiffusersFloat32Table() throws Exception {
        int checked = 0;
        for (JsonNode c : cases()) {
            if (!c.get("scheduler").asText().equals("table")) {
                continue;
            }
            double[] ref = doubles(c.get("sigmas"));
            double[] mine = SchedulerConfig.parse(c.get("config")).tableSigmas();
            assertEquals(ref.length, mine.length);
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], mine[i], 2 * Math.ulp((float) ref[i]), "table sigma " + i);
            }
            checked++;
        }
        assertEquals(2, checked);
    }

    @Test
    void eachSchedulerDerivesItsOwnLeadingTimesteps() {
        ObjectMapper m = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode json = m.createObjectNode();
        json.put("_class_name", "EulerDiscreteScheduler").put("beta_schedule", "scaled_linear")
                .put("beta_start", 0.00085).put("beta_end", 0.012).put("steps_offset", 1).put("timestep_spacing", "leading");
        SchedulerConfig cfg = SchedulerConfig.parse(json);
        assertArrayEquals(new double[] {831, 665, 499, 333, 167, 1}, DiffusersSchedule.eulerDiscrete(cfg, 6).timesteps());
        assertArrayEquals(new double[] {853, 711, 569, 427, 285, 143}, DiffusersSchedule.dpmSolverMultistep(cfg, 6).timesteps());
        DiffusersSchedule e10 = DiffusersSchedule.eulerDiscrete(cfg, 10);
        // denoising_end 0.8: the base keeps the timesteps >= 200, the refiner runs 101 and 1
        assertEquals(8, e10.splitIndex(0.8, 1000));
        assertEquals(8, DiffusersSchedule.dpmSolverMultistep(cfg, 10).splitIndex(0.8, 1000));
        double b = e10.refinerBoundary(0.8, 1000);
        double[] sig = e10.sigmas();
        assertEquals(sig[7], b);
        assertTrue(sig[8] < b, "the refiner's first level is below the boundary");
        assertThrows(IllegalArgumentException.class, () -> DiffusersSchedule.eulerDiscrete(cfg, 1).refinerBoundary(0.8, 1000));
    }

    @Test
    void theNetworkGetsTheSchedulersOwnTimestepAtEachLevel() {
        ObjectMapper m = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode json = m.createObjectNode();
        json.put("_class_name", "DPMSolverMultistepScheduler").put("beta_schedule", "scaled_linear")
                .put("beta_start", 0.00085).put("beta_end", 0.012).put("use_karras_sigmas", true);
        DiffusersSchedule s = DiffusersSchedule.dpmSolverMultistep(SchedulerConfig.parse(json), 6);
        double[] sig = s.sigmas();
        double[] ts = s.timesteps();
        for (int i = 0; i < s.steps(); i++) {
            // Karras sigmas fall between table entries; the network still gets the rounded timestep
            assertEquals(ts[i], s.timestepOf(sig[i]));
            assertEquals(Math.rint(ts[i]), ts[i]);
        }
    }

    @Test
    void unsupportedConfigurationsAreNamed() {
        ObjectMapper m = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode json = m.createObjectNode();
        json.put("_class_name", "EulerDiscreteScheduler").put("prediction_type", "sample");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse(json));
        assertTrue(e.getMessage().contains("prediction_type 'sample'"), e.getMessage());
        json.put("prediction_type", "epsilon").put("timestep_spacing", "cosine");
        e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse(json));
        assertTrue(e.getMessage().contains("timestep_spacing 'cosine'"), e.getMessage());
        json.put("timestep_spacing", "leading").put("beta_schedule", "squaredcos_cap_v2");
        e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse(json));
        assertTrue(e.getMessage().contains("beta_schedule 'squaredcos_cap_v2'"), e.getMessage());
        json.put("beta_schedule", "scaled_linear").put("final_sigmas_type", "sigma_min");
        e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse(json));
        assertTrue(e.getMessage().contains("final_sigmas_type 'sigma_min' is not supported; expected 'zero'"), e.getMessage());
        json.put("final_sigmas_type", "zero").put("use_exponential_sigmas", true);
        e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse(json));
        assertTrue(e.getMessage().contains("use_exponential_sigmas"), e.getMessage());
    }
}
