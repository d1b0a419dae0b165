package dev.ediff.onnx;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Request;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Session reuse, cancellation and close semantics. */
class SessionLifecycleTest {

    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(1).build();
    static final TensorShape SAMPLE = TensorShape.of(3, 4, 4);
    static final int SLOW_N = 512;
    static final int SLOW_REPEATS = 80;

    static OnnxExpert gmm() {
        Random rnd = new Random(5);
        double[][] mu = new double[3][48];
        for (double[] m : mu) {
            for (int j = 0; j < m.length; j++) {
                m[j] = rnd.nextGaussian();
            }
        }
        GaussianMixture g = new GaussianMixture(new double[] {1, 2, 3}, mu, new double[] {0.2, 0.3, 0.1});
        return GaussianMixtureOnnx.expert("gmm", List.of(g, g), SAMPLE, CPU);
    }

    static OnnxExpert slow() {
        return OnnxExpert.open("slow", TestModels.slow(SLOW_N, SLOW_REPEATS), ExpertContract.builder().build(), CPU);
    }

    /** An expert that records the sessions it opens (to see shapes and that they were closed). */
    static final class Recording implements Expert {
        final OnnxExpert inner;
        final List<OnnxSession> sessions = new CopyOnWriteArrayList<>();

        Recording(OnnxExpert inner) {
            this.inner = inner;
        }

        @Override
        public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
            inner.denoise(x, shape, sigma, cond, out);
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public int maxBatch() {
            return inner.maxBatch();
        }

        @Override
        public Session open(TensorShape shape, Conditioning cond) {
            OnnxSession s = inner.open(shape, cond);
            sessions.add(s);
            return s;
        }
    }

    /**
     * Closing an expert frees the direct memory of the buffers its sessions left for reuse at once,
     * not at some later garbage collection (which a large young generation may put off for long).
     */
    @Test
    void closingAnExpertFreesItsPooledDirectMemoryAtOnce() {
        java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        int batch = 4096; // x and the output: 4096 x 48 floats, 768 KiB each
        TensorShape shape = SAMPLE.withBatch(batch);
        long pooled = 2L * shape.size() * Float.BYTES;
        OnnxExpert e = gmm();
        long open;
        try {
            e.denoise(new double[shape.size()], shape, 0.8, Conditioning.NONE, new double[shape.size()]);
            open = direct.getMemoryUsed(); // the session is closed, its buffers wait in the expert's pool
        } finally {
            e.close();
        }
        long closed = direct.getMemoryUsed();
        assertTrue(open - closed >= pooled, "closing freed " + (open - closed) + " bytes of direct memory; the pooled"
                + " buffers hold at least " + pooled);
    }

    @Test
    void oneSessionGivesIdenticalResultsOverManyCalls() {
        try (OnnxExpert e = gmm(); OnnxSession s = e.open(SAMPLE.withBatch(2), Conditioning.NONE)) {
            double[] x = new Random(1).doubles(96, -3, 3).toArray();
            double[] first = new double[96];
            s.denoise(x, 0.8, first);
            double[] other = new double[96];
            for (int i = 0; i < 50; i++) {
                s.denoise(new Random(i).doubles(96, -3, 3).toArray(), 0.1 + i, other);
                double[] again = new double[96];
                s.denoise(x, 0.8, again);
                assertArrayEquals(first, again, 0.0, "call " + i);
            }
            double[] fresh = new double[96];
            e.denoise(x, SAMPLE.withBatch(2), 0.8, Conditioning.NONE, fresh);
            assertArrayEquals(first, fresh, 0.0);
            assertEquals(101, s.calls());
        }
    }

    @Test
    void guidanceBatchesBothBranchesIntoOneCall() {
        try (OnnxExpert e = gmm()) {
            Recording r = new Recording(e);
            try (EDiff ediff = EDiff.builder(RoutingTree.single(r), SAMPLE).build()) {
                ediff.generate(Request.builder().seed(3).sampler(Samplers.euler(), 4).guidance(3.0)
                        .conditioning(GaussianMixtureExpert.label(1, 1)).unconditioning(GaussianMixtureExpert.label(0, 1))
                        .build());
            }
            assertEquals(1, r.sessions.size());
            assertEquals(2, r.sessions.get(0).shape().batch());
            assertEquals(4, r.sessions.get(0).calls());
            assertTrue(r.sessions.get(0).isClosed());
        }
    }

    @Test
    void sessionCloseIsIdempotentAndUseAfterCloseFails() {
        try (OnnxExpert e = gmm()) {
            OnnxSession s = e.open(SAMPLE, Conditioning.NONE);
            s.close();
            s.close();
            assertThrows(IllegalStateException.class, () -> s.denoise(new double[48], 1, new double[48]));
            s.abort(); // harmless after close
        }
    }

    @Test
    void expertCloseIsIdempotentAndUseAfterCloseFails() {
        OnnxExpert e = gmm();
        OnnxSession s = e.open(SAMPLE, Conditioning.NONE);
        e.close();
        e.close();
        assertTrue(e.isClosed());
        assertThrows(IllegalStateException.class, () -> e.open(SAMPLE, Conditioning.NONE));
        assertThrows(IllegalStateException.class, () -> s.denoise(new double[48], 1, new double[48]));
        s.close(); // a session still releases its own tensors after the expert closed
    }

    @Test
    void abortFromAnotherThreadStopsARunningCall() throws Exception {
        TensorShape shape = new TensorShape(1, 1, SLOW_N, SLOW_N);
        double[] x = new double[shape.size()];
        try (OnnxExpert e = slow(); OnnxSession s = e.open(shape, Conditioning.NONE)) {
            long full = timeOneCall(s, x);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try (OnnxSession s2 = e.open(shape, Conditioning.NONE)) {
                CountDownLatch started = new CountDownLatch(1);
                Future<?> run = pool.submit(() -> {
                    started.countDown();
                    s2.denoise(x, 1, new double[x.length]);
                    return null;
                });
                started.await();
                Thread.sleep(full / 5_000_000); // a fifth of a call
                long t0 = System.nanoTime();
                s2.abort();
                Exception failure = assertThrows(Exception.class, () -> run.get(30, TimeUnit.SECONDS));
                long stopped = System.nanoTime() - t0;
                assertInstanceOf(CancelledException.class, failure.getCause());
                System.out.printf("full call %.0f ms, stopped %.0f ms after abort%n", full / 1e6, stopped / 1e6);
                assertTrue(stopped < full / 2, "abort took " + stopped / 1e6 + " ms, a full call " + full / 1e6 + " ms");
                assertThrows(CancelledException.class, () -> s2.denoise(x, 1, new double[x.length]));
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void cancellingAGenerationStopsTheRunningCallAndClosesSessions() throws Exception {
        TensorShape sample = new TensorShape(1, 1, SLOW_N, SLOW_N);
        try (OnnxExpert e = slow()) {
            long full = timeOneCall(e.open(sample, Conditioning.NONE), new double[sample.size()]);
            Recording r = new Recording(e);
            CancellationToken token = new CancellationToken();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try (EDiff ediff = EDiff.builder(RoutingTree.single(r), sample).build()) {
                Future<?> gen = pool.submit(() -> ediff.generate(Request.builder().seed(1).sampler(Samplers.euler(), 1000)
                        .cancellation(token).build()));
                Thread.sleep(full * 3 / 2_000_000); // inside the second call
                long t0 = System.nanoTime();
                token.cancel();
                Exception failure = assertThrows(Exception.class, () -> gen.get(30, TimeUnit.SECONDS));
                long stopped = System.nanoTime() - t0;
                assertInstanceOf(CancelledException.class, failure.getCause());
                System.out.printf("generation stopped %.0f ms after cancel (a call takes %.0f ms)%n", stopped / 1e6, full / 1e6);
                assertTrue(stopped < full / 2, "cancel took " + stopped / 1e6 + " ms");
                assertEquals(1, r.sessions.size());
                assertTrue(r.sessions.get(0).isAborted());
                assertTrue(r.sessions.get(0).isClosed());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void closingTheExpertWaitsForARunningCall() throws Exception {
        TensorShape shape = new TensorShape(1, 1, SLOW_N, SLOW_N);
        double[] x = new double[shape.size()];
        java.util.Arrays.fill(x, 1);
        OnnxExpert e = slow();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (OnnxSession s = e.open(shape, Conditioning.NONE)) {
            long full = timeOneCall(e.open(shape, Conditioning.NONE), x);
            double[] out = new double[x.length];
            Future<?> run = pool.submit(() -> {
                s.denoise(x, 2, out);
                return null;
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (e.runningCalls() == 0 && !run.isDone()) {
                assertTrue(System.nanoTime() < deadline, "the run never started");
                Thread.onSpinWait(); // until the graph run is in flight
            }
            long t0 = System.nanoTime();
            e.close();
            long waited = System.nanoTime() - t0;
            assertEquals(0, e.runningCalls(), "close returned while a run was in flight");
            run.get(30, TimeUnit.SECONDS); // completed normally: the session was not closed under it
            assertEquals(2.0, out[0], 1e-6);
            System.out.printf("close waited %.0f ms for the running call (a call takes %.0f ms)%n", waited / 1e6, full / 1e6);
            assertTrue(waited > 0);
            assertThrows(IllegalStateException.class, () -> s.denoise(x, 2, out));
        } finally {
            pool.shutdownNow();
            e.close();
        }
    }

    private static long timeOneCall(Expert.Session s, double[] x) {
        double[] out = new double[x.length];
        long t0 = System.nanoTime();
        s.denoise(x, 1, out);
        long t = System.nanoTime() - t0;
        s.close();
        return t;
    }
}
