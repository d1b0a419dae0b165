package dev.ediff.core;

import dev.ediff.api.Request;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A batch larger than {@link BatchLimit#MAX_BATCH_VALUES} is refused before anything is allocated. */
class BatchLimitTest {

    @Test
    void aBatchOfTooManyValuesIsRefusedInOneLineNamingTheLargestCount() {
        TensorShape image = TensorShape.of(3, 64, 64);
        try (EDiff ediff = EDiff.builder(RoutingTree.single(new GaussianMixtureExpert("gmm",
                EDiffTest.mixture(2, 1, image.sampleSize()))), image).build()) {
            long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ediff.generate(
                    Request.builder().seed(1).count(Request.MAX_COUNT).sampler(Samplers.euler(), 2).build()));
            assertEquals("count must be at most 2730 for stage '" + ediff.stages().get(0).name()
                    + "' (12288 values per sample, at most 33554432 per batch), got 4096", e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
            assertTrue(after - before < 64L << 20, "refused before allocating the batch: " + (after - before) + " bytes");
        }
    }

    @Test
    void theLargestAllowedCountPassesTheCheck() {
        TensorShape image = TensorShape.of(3, 64, 64);
        try (EDiff ediff = EDiff.builder(RoutingTree.single(new GaussianMixtureExpert("gmm",
                EDiffTest.mixture(2, 1, image.sampleSize()))), image).build()) {
            BatchLimit.check(BatchLimit.MAX_BATCH_VALUES / image.sampleSize(), ediff.stages(), 0);
            assertThrows(IllegalArgumentException.class,
                    () -> BatchLimit.check(BatchLimit.MAX_BATCH_VALUES / image.sampleSize() + 1, ediff.stages(), 0));
        }
    }
}
