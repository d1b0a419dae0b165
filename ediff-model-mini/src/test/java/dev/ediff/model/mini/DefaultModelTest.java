package dev.ediff.model.mini;

import dev.ediff.api.Generation;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.MemoryMode;
import dev.ediff.api.Request;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.Test;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an application gets from the two dependencies ediff-onnx and ediff-model-mini and nothing
 * else (this module's test classpath): the default model opens and generates, reproducibly, and no
 * judge, test kit or logging implementation comes along.
 */
class DefaultModelTest {

    @Test
    void openDefaultGeneratesWithOnlyOnnxAndTheModelOnTheClasspath() {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.ediff.testkit.analytic.GaussianMixture"),
                "the test kit must not be on this classpath");
        try (EDiff ediff = EDiff.openDefault()) {
            assertEquals("base", ediff.stages().get(0).name());
            Request r = Request.prompt("a small red circle").seed(11).steps(2).untilStage("base").build();
            Generation g = ediff.generate(r);
            assertEquals(TensorShape.of(3, 32, 32), g.sample(0).shape().withBatch(1));
            double[] image = g.sample(0).data();
            for (double v : image) {
                assertTrue(Double.isFinite(v), "a finite image");
            }
            assertArrayEquals(image, ediff.generate(r).sample(0).data(), "the same request gives the same image");
            assertFalse(java.util.Arrays.equals(image, ediff.generate(r.toBuilder().seed(12).build()).sample(0).data()),
                    "another seed gives another image");
        }
    }

    /**
     * {@code MemoryMode.LAZY} (sessions loaded when a generation needs them, released as it passes
     * them): the same base-stage images (three experts), twice (the second time every session is loaded
     * again), as with every session resident.
     */
    @Test
    void lazyLoadingGivesTheSameImages() {
        Request r = Request.prompt("a small red circle").seed(11).steps(4).untilStage("base").build();
        double[] resident;
        try (EDiff ediff = EDiff.openDefault(LoadOptions.builder().intraOpThreads(1).build())) {
            resident = ediff.generate(r).sample(0).data();
        }
        try (EDiff ediff = EDiff.openDefault(LoadOptions.builder().intraOpThreads(1).memory(MemoryMode.LAZY).build())) {
            assertArrayEquals(resident, ediff.generate(r).sample(0).data(), "lazy: the same image");
            assertArrayEquals(resident, ediff.generate(r.toBuilder().build()).sample(0).data(), "reloaded: the same image");
        }
    }

    @Test
    void theModelBringsNoJudgeAndNoLoggingImplementation() {
        ClassLoader cl = DefaultModelTest.class.getClassLoader();
        assertTrue(cl.getResource("dev/ediff/models/default/manifest.json") != null);
        assertNull(cl.getResource("dev/ediff/models/default/judge/judge.onnx"), "the judge stays with the evaluation");
        assertFalse(ServiceLoader.load(org.slf4j.spi.SLF4JServiceProvider.class).iterator().hasNext(),
                "ediff-onnx and ediff-model-mini must leave the logging implementation to the application");
    }
}
