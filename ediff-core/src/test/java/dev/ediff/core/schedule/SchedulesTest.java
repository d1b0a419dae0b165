package dev.ediff.core.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.core.model.DiscreteVp;
import org.junit.jupiter.api.Test;

import java.io.InputStream;

import static dev.ediff.core.Generators.decimals;
import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

class SchedulesTest {

    @Test
    void karrasAndExponentialMatchTheReferenceSchedules() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("/conformance/schedules.json")) {
            root = new ObjectMapper().readTree(in);
        }
        int checked = 0;
        for (JsonNode s : root.get("schedules")) {
            int n = s.get("n").asInt();
            double smin = s.get("sigma_min").asDouble();
            double smax = s.get("sigma_max").asDouble();
            NoiseSchedule schedule = switch (s.get("kind").asText()) {
                case "karras" -> Schedules.karras(smin, smax, s.get("rho").asDouble());
                case "exponential" -> Schedules.exponential(smin, smax);
                default -> throw new AssertionError("unknown kind " + s.get("kind"));
            };
            double[] actual = schedule.sigmas(n);
            JsonNode expected = s.get("sigmas");
            assertEquals(expected.size(), actual.length);
            for (int i = 0; i < actual.length; i++) {
                double e = expected.get(i).asDouble();
                assertEquals(e, actual[i], 1e-12 * Math.abs(e), s.get("kind") + " n=" + n + " index " + i);
            }
            assertEquals(0.0, actual[n]);
            checked++;
        }
        assertTrue(checked >= 2, "schedules.json has at least a karras and an exponential schedule");
    }

    @Test
    void schedulesAreStrictlyDecreasingAndEndInZero() {
        qt().withExamples(200).forAll(integers().between(1, 200), decimals(1e-3, 1, 6), decimals(2, 200), decimals(1, 10))
                .checkAssert((steps, smin, smax, rho) -> {
                    for (NoiseSchedule s : new NoiseSchedule[] {
                            Schedules.karras(smin, smax, rho), Schedules.exponential(smin, smax),
                            Schedules.vpTimesteps(DiscreteVp.scaledLinear(1000, 0.00085, 0.012), DiscreteVp.Spacing.LINSPACE)}) {
                        double[] sigmas = s.sigmas(steps);
                        assertEquals(steps + 1, sigmas.length);
                        assertEquals(0.0, sigmas[steps]);
                        for (int i = 1; i <= steps; i++) {
                            assertTrue(sigmas[i] < sigmas[i - 1], "not decreasing at " + i);
                        }
                    }
                });
    }

    @Test
    void vpTimestepAndSigmaMapsAreInverse() {
        DiscreteVp vp = DiscreteVp.scaledLinear(1000, 0.00085, 0.012);
        qt().withExamples(200).forAll(decimals(0, 999)).checkAssert(t -> assertEquals(t, vp.timestepOf(vp.sigmaAt(t)), 1e-6));
    }

    @Test
    void vpTimestepSpacingsHitTheTableAtIntegerTimesteps() {
        DiscreteVp vp = DiscreteVp.scaledLinear(1000, 0.00085, 0.012);
        double[] linspace = Schedules.vpTimesteps(vp, DiscreteVp.Spacing.LINSPACE).sigmas(10);
        assertEquals(vp.sigmaMax(), linspace[0], 1e-12);
        assertEquals(vp.sigmaMin(), linspace[9], 1e-12);
        // Stable Diffusion's table: sigma_max ~ 14.6146, sigma_min ~ 0.0291675 (the conformance cases use them)
        assertEquals(14.614642, vp.sigmaMax(), 1e-5);
        assertEquals(0.0291675, vp.sigmaMin(), 1e-6);
        double[] trailing = vp.timesteps(4, DiscreteVp.Spacing.TRAILING);
        assertEquals(999, trailing[0]);
        assertEquals(249, trailing[3]);
        double[] leading = vp.timesteps(4, DiscreteVp.Spacing.LEADING);
        assertEquals(750, leading[0]);
        assertEquals(0, leading[3]);
    }

    @Test
    void badRangesAndListsAreRejected() {
        assertContains(assertThrows(IllegalArgumentException.class, () -> Schedules.karras(5, 1, 7)).getMessage(),
                "sigma_min=5.0", "sigma_max=1.0");
        assertThrows(IllegalArgumentException.class, () -> Schedules.exponential(1, 1));
        assertThrows(IllegalArgumentException.class, () -> Schedules.karras(0.1, 10, 0));
        assertContains(assertThrows(IllegalArgumentException.class, () -> Schedules.edm().sigmas(0)).getMessage(),
                "steps must be >= 1");
        assertContains(assertThrows(IllegalArgumentException.class, () -> Schedules.explicit(3, 4, 0)).getMessage(),
                "strictly decreasing", "sigma[1]");
        assertContains(assertThrows(IllegalArgumentException.class, () -> Schedules.explicit(3, 1)).getMessage(),
                "end in 0");
        assertContains(assertThrows(IllegalArgumentException.class, () -> Schedules.explicit(3, 1, 0).sigmas(5))
                .getMessage(), "2 steps");
    }
}
