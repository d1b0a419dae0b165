package dev.ediff.examples;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.RoutedEvaluation;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The design card's case: the bundled model with its low-noise expert replaced by a Java expert. */
class ReplaceExpertTest {

    /** Every step's denoised estimate, with its sigma. */
    record Step(double sigma, double[] denoised) {
    }

    static Generation run(EDiff e, List<Step> steps) {
        return e.generate(Request.prompt("a red circle above a blue square").seed(4).untilStage("base")
                .sampler(Samplers.dpmSolverPP2M(), 8).guidance(1.0) // one branch: D is the expert's estimate
                .onStep((i, sigma, x, denoised) -> steps.add(new Step(sigma, denoised.clone()))).build());
    }

    @Test
    void theJavaExpertServesBelowHalfAndTheRestIsTheBundledModel() {
        List<Step> bundledSteps = new ArrayList<>();
        List<Step> mineSteps = new ArrayList<>();
        List<Step> exactSteps = new ArrayList<>();
        Generation reference;
        Generation mineResult;
        Generation exact;
        dev.ediff.core.RoutingTree tree;
        try (EDiff bundled = EDiff.openDefault()) {
            tree = bundled.stages().get(0).routingTree();
            reference = run(bundled, bundledSteps);
            // a limit no estimate reaches: the Java expert then forwards the bundled estimate unchanged
            try (EDiff mine = ReplaceExpert.withJavaLowNoiseExpert(bundled, 0.25);
                 EDiff pixelRange = ReplaceExpert.withJavaLowNoiseExpert(bundled, 1e6)) {
                bundled.close(); // the derived pipelines keep the shared models open
                mineResult = run(mine, mineSteps);
                exact = run(pixelRange, exactSteps);
            }
        }
        // Clipping to [-1e6, 1e6] forwards every estimate bit for bit.
        assertArrayEquals(reference.sample(0).data(), exact.sample(0).data());
        assertFalse(java.util.Arrays.equals(reference.sample(0).data(), mineResult.sample(0).data()),
                "clipping to 0.25 changes the image");
        int low = 0;
        for (RoutedEvaluation e : mineResult.evaluations()) {
            // below 0.5 the Java expert; above, whichever bundled expert the bundle's own tree names
            String expected = e.sigma() < 0.5 ? "java-low" : tree.route(e.sigma()).name();
            assertEquals(expected, e.expert(), "sigma " + e.sigma());
            low += e.sigma() < 0.5 ? 1 : 0;
        }
        assertTrue(low > 0, "some evaluations fall below sigma 0.5");
        assertEquals(reference.nfe(), mineResult.nfe());
        for (int i = 0; i < mineSteps.size(); i++) {
            Step s = mineSteps.get(i);
            if (s.sigma() >= 0.5) {
                // above 0.5 nothing changed: same experts, same states, bit for bit
                assertArrayEquals(bundledSteps.get(i).denoised(), s.denoised(), "step " + i);
            } else {
                for (double v : s.denoised()) {
                    assertTrue(v >= -0.25 && v <= 0.25, "clipped estimate " + v + " at sigma " + s.sigma());
                }
            }
        }
    }
}
