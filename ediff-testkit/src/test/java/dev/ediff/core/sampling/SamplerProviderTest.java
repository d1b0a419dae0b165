package dev.ediff.core.sampling;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.core.EDiff;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.core.GenerationParameters;
import dev.ediff.core.RoutingTree;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Samplers by name through {@link dev.ediff.api.SamplerProvider}: the built-ins and a test-only provider. */
class SamplerProviderTest {

    @Test
    void everyBuiltInRoundTripsThroughItsSpecWithItsOptions() {
        for (Sampler s : new Sampler[] {Samplers.euler(), Samplers.eulerAncestral(0.3, 1.2), Samplers.heun(0.5, 0.1, 9, 1.01),
                Samplers.dpm2(), Samplers.lms(3), Samplers.dpmSolverPP2M(), Samplers.dpmSolverPP2MSde(0.6, 0.9)}) {
            Sampler back = Samplers.parse(Samplers.spec(s));
            assertEquals(s.name(), back.name());
            assertEquals(s.options(), back.options(), Samplers.spec(s));
        }
        assertEquals("heun(s_churn=0.5,s_noise=1.01,s_tmax=9.0,s_tmin=0.1)", Samplers.spec(Samplers.heun(0.5, 0.1, 9, 1.01)));
        assertEquals(Samplers.heun().options(), Samplers.byName("HEUN").options());
        assertEquals("lms", Samplers.parse("lms( order = 2 )").name());
        assertContains(assertThrows(IllegalArgumentException.class, () -> Samplers.parse("lms(order=2.5)")).getMessage(),
                "order", "integer");
        assertContains(assertThrows(IllegalArgumentException.class, () -> Samplers.parse("euler(eta=1)")).getMessage(),
                "no option 'eta'", "takes none");
        assertContains(assertThrows(IllegalArgumentException.class, () -> Samplers.byName("nope")).getMessage(),
                "unknown sampler 'nope'", "damped_euler", "dpmpp_2m", "SamplerProvider");
    }

    @Test
    void aSamplerOfAnotherProviderIsFoundByNameAndRoundTrips() {
        assertTrue(Samplers.names().contains("damped_euler"));
        Sampler damped = Samplers.parse("damped_euler(damping=0.9)");
        assertEquals(Map.of("damping", "0.9"), damped.options());
        double[] half = new double[48];
        java.util.Arrays.fill(half, 0.5);
        GaussianMixture data = new GaussianMixture(new double[] {1, 2}, new double[][] {new double[48], half},
                new double[] {0.2, 0.3});
        try (EDiff e = EDiff.builder(RoutingTree.single(new GaussianMixtureExpert("gmm", data)), TensorShape.of(3, 4, 4))
                .build()) {
            Generation g = e.generate(Request.builder().seed(8).sampler(damped, 7).build());
            assertEquals("damped_euler(damping=0.9)", g.parameters().get("base.sampler"));
            Generation again = e.generate(GenerationParameters.parse(g.parameters()).build());
            assertArrayEquals(g.sample(0).data(), again.sample(0).data());
            Generation euler = e.generate(Request.builder().seed(8).sampler(Samplers.byName("damped_euler"), 7).build());
            Generation plain = e.generate(Request.builder().seed(8).sampler(Samplers.euler(), 7).build());
            assertArrayEquals(plain.sample(0).data(), euler.sample(0).data(), 1e-12, "damping 1 is Euler");
            assertFalse(java.util.Arrays.equals(g.sample(0).data(), euler.sample(0).data()));
        }
    }
}
