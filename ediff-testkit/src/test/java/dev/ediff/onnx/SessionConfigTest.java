package dev.ediff.onnx;

import dev.ediff.api.Conditioning;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The session options change how ONNX Runtime schedules and allocates, never what it computes. */
class SessionConfigTest {

    @Test
    void defaultsAndBuilderRoundTrip() {
        SessionConfig d = SessionConfig.DEFAULT;
        assertEquals(0, d.intraOpThreads());
        assertEquals(SessionConfig.defaultIntraOpThreads(), d.effectiveIntraOpThreads());
        int threads = SessionConfig.defaultIntraOpThreads();
        assertTrue(threads >= 1 && threads <= Runtime.getRuntime().availableProcessors(), "threads " + threads);
        SessionConfig c = SessionConfig.builder().intraOpThreads(3).interOpThreads(2)
                .executionMode(SessionConfig.ExecutionMode.PARALLEL).cpuArena(false).memoryPattern(false).spinning(true).build();
        assertEquals(c, c.toBuilder().build());
        assertEquals(3, c.effectiveIntraOpThreads());
        assertThrows(IllegalArgumentException.class, () -> SessionConfig.builder().intraOpThreads(-1).build());
    }

    @Test
    void everyOptionGivesTheSameOutputs() {
        TensorShape shape = TensorShape.of(3, 8, 8).withBatch(2);
        Random rnd = new Random(3);
        int d = shape.sampleSize();
        double[][] mu = new double[4][d];
        for (double[] m : mu) {
            for (int j = 0; j < d; j++) {
                m[j] = 2 * rnd.nextDouble() - 1;
            }
        }
        GaussianMixture mixture = new GaussianMixture(new double[] {1, 2, 1, 3}, mu, new double[] {0.2, 0.3, 0.1, 0.4});
        double[] x = rnd.doubles(shape.size()).map(v -> 3 * v - 1.5).toArray();
        SessionConfig base = SessionConfig.builder().intraOpThreads(1).build();
        double[] expected = run(mixture, shape, x, base);
        for (SessionConfig c : List.of(SessionConfig.DEFAULT,
                base.toBuilder().spinning(true).build(),
                base.toBuilder().cpuArena(false).build(),
                base.toBuilder().memoryPattern(false).build(),
                base.toBuilder().executionMode(SessionConfig.ExecutionMode.PARALLEL).interOpThreads(2).build())) {
            assertArrayEquals(expected, run(mixture, shape, x, c), c.toString());
        }
    }

    private static double[] run(GaussianMixture mixture, TensorShape shape, double[] x, SessionConfig config) {
        double[] out = new double[shape.size()];
        try (OnnxExpert e = GaussianMixtureOnnx.expert("gmm", List.of(mixture), shape, config);
             OnnxSession s = e.open(shape, Conditioning.NONE)) {
            for (double sigma : new double[] {5, 1, 0.1}) {
                s.denoise(x, sigma, out);
            }
        }
        return out;
    }
}
