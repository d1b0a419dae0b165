package dev.ediff.core;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Progress;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

class EDiffTest {

    static final TensorShape SHAPE = TensorShape.of(3, 4, 4);

    static GaussianMixture mixture(long seed, int components, int dim) {
        java.util.Random r = new java.util.Random(seed);
        double[] w = new double[components];
        double[][] mu = new double[components][dim];
        double[] s = new double[components];
        for (int k = 0; k < components; k++) {
            w[k] = 0.5 + r.nextDouble();
            s[k] = 0.1 + 0.4 * r.nextDouble();
            for (int j = 0; j < dim; j++) {
                mu[k][j] = r.nextGaussian();
            }
        }
        return new GaussianMixture(w, mu, s);
    }

    static EDiff pipeline(Expert expert) {
        return EDiff.builder(RoutingTree.single(expert), SHAPE).defaultSampler(Samplers.euler(), 10).build();
    }

    /** Image i of a batch with seed s equals the image generated alone with the seed recorded for it. */
    @Test
    void batchItemsAreReproducibleAlone() {
        qt().withExamples(12).forAll(integers().between(2, 5), longs().all(), integers().between(0, 6))
                .checkAssert((count, seed, samplerIndex) -> {
                    Sampler sampler = Samplers.byName(Samplers.NAMES.get(samplerIndex));
                    try (EDiff ediff = pipeline(new GaussianMixtureExpert("gmm", mixture(3, 4, SHAPE.sampleSize())))) {
                        Generation batch = ediff.generate(Request.builder().seed(seed).count(count).sampler(sampler, 6).build());
                        assertEquals(count, batch.samples().size());
                        for (int i = 0; i < count; i++) {
                            long s = batch.sample(i).seed();
                            assertEquals(seed + i, s);
                            Generation alone = ediff.generate(Request.builder().seed(s).sampler(sampler, 6).build());
                            assertArrayEquals(alone.sample(0).data(), batch.sample(i).data(), sampler.name() + " image " + i);
                        }
                    }
                });
    }

    @Test
    void sameSeedSameResultAndDifferentSeedsDiffer() {
        try (EDiff ediff = pipeline(new GaussianMixtureExpert("gmm", mixture(3, 4, SHAPE.sampleSize())))) {
            Request r = Request.builder().seed(7).sampler(Samplers.eulerAncestral(), 8).build();
            assertArrayEquals(ediff.generate(r).sample(0).data(), ediff.generate(r).sample(0).data());
            Generation other = ediff.generate(r.toBuilder().seed(8).build());
            assertFalse(java.util.Arrays.equals(ediff.generate(r).sample(0).data(), other.sample(0).data()));
            Generation unseeded = ediff.generate(Request.builder().build());
            assertEquals(1, unseeded.samples().size()); // a random seed is drawn and recorded
            assertArrayEquals(unseeded.sample(0).data(),
                    ediff.generate(Request.builder().seed(unseeded.sample(0).seed()).build()).sample(0).data());
        }
    }

    /** A point mass is recovered exactly: D = mu at every sigma, so the last step lands on mu. */
    @Test
    void deterministicSamplersRecoverAPointMass() {
        double[] mu = new double[SHAPE.sampleSize()];
        for (int i = 0; i < mu.length; i++) {
            mu[i] = Math.sin(i) * 0.8;
        }
        GaussianMixture point = new GaussianMixture(new double[] {1}, new double[][] {mu}, new double[] {0});
        try (EDiff ediff = pipeline(new GaussianMixtureExpert("point", point))) {
            for (String name : List.of("euler", "heun", "dpm_2", "lms", "dpmpp_2m")) {
                Generation g = ediff.generate(Request.builder().seed(1).count(2).sampler(Samplers.byName(name), 7).build());
                for (int b = 0; b < 2; b++) {
                    double[] x = g.sample(b).data();
                    for (int i = 0; i < mu.length; i++) {
                        assertEquals(mu[i], x[i], 1e-12, name);
                    }
                }
            }
        }
    }

    @Test
    void recordsTheRoutingOfEveryEvaluationIncludingHeunCorrectors() {
        GaussianMixture g = mixture(5, 3, SHAPE.sampleSize());
        double[] sigmas = Schedules.karras(0.03, 14.6, 7).sigmas(10);
        double boundary = sigmas[4];
        RoutingTree tree = RoutingTree.builder()
                .expert(NoiseInterval.below(boundary), new GaussianMixtureExpert("low", g))
                .expert(NoiseInterval.atLeast(boundary), new GaussianMixtureExpert("high", g)).build();
        List<Progress> progress = new ArrayList<>();
        try (EDiff ediff = EDiff.builder(tree, SHAPE).build()) {
            Generation gen = ediff.generate(Request.builder().seed(1).sampler(Samplers.heun(), 10)
                    .schedule(Schedules.explicit(sigmas)).onProgress(progress::add).build());
            assertEquals(19, gen.nfe());
            // step 3's corrector is evaluated at sigmas[4] == boundary: the expert above serves it
            assertEquals(sigmas[4], gen.evaluations().get(7).sigma());
            assertEquals("high", gen.evaluations().get(7).expert());
            assertEquals("low", gen.evaluations().get(9).expert()); // step 5's predictor at sigmas[5]
            for (var e : gen.evaluations()) {
                assertEquals(e.sigma() >= boundary ? "high" : "low", e.expert());
            }
            assertEquals(10, progress.size());
            assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), progress.stream().map(Progress::step).toList());
            assertEquals("high", progress.get(4).expert());
            assertEquals("low", progress.get(5).expert());
            assertEquals(10, progress.get(0).totalSteps());
            assertEquals("heun", gen.sampler());
            assertArrayEquals(sigmas, gen.sigmas());
        }
    }

    @Test
    void badRequestsFailClearly() {
        try (EDiff ediff = pipeline(new GaussianMixtureExpert("gmm", mixture(3, 2, SHAPE.sampleSize())))) {
            assertContains(assertThrows(IllegalArgumentException.class, () -> Request.builder().steps(0)).getMessage(),
                    "steps must be in 1..1000, got 0");
            assertContains(assertThrows(IllegalArgumentException.class, () -> Request.builder().count(0)).getMessage(),
                    "count must be in 1..4096, got 0");
            assertContains(assertThrows(IllegalArgumentException.class, () -> Guidance.of(Double.NaN)).getMessage(),
                    "guidance scale", "NaN");
            assertContains(assertThrows(IllegalArgumentException.class, () -> Guidance.of(-1)).getMessage(),
                    "guidance scale", "-1.0");
            assertContains(assertThrows(IllegalArgumentException.class, () -> Guidance.of(2).withRescale(1.5))
                    .getMessage(), "rescale");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> ediff.generate(Request.builder().initialNoise(new double[5]).build())).getMessage(),
                    "initial noise has 5 values", "48", "[1, 3, 4, 4]");
            assertThrows(IllegalArgumentException.class, () -> Request.builder().initialNoise(new double[] {Double.NaN}));
            assertContains(assertThrows(IllegalArgumentException.class, () -> ediff.generate(Request.builder().count(3)
                    .conditioning(GaussianMixtureExpert.label(0, 2)).build())).getMessage(), "batch 2", "1 (shared) or 3");
            assertContains(assertThrows(IllegalArgumentException.class, () -> Samplers.byName("ddim")).getMessage(),
                    "unknown sampler 'ddim'", "euler");
        }
        EDiff closed = pipeline(new GaussianMixtureExpert("gmm", mixture(3, 2, SHAPE.sampleSize())));
        closed.close();
        closed.close(); // idempotent
        assertContains(assertThrows(IllegalStateException.class, () -> closed.generate(Request.builder().build()))
                .getMessage(), "closed");
    }

    /** Counts open sessions, to check that every path closes what it opened. */
    static final class CountingExpert implements Expert {
        final Expert inner;
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger calls = new AtomicInteger();
        int maxBatch = Integer.MAX_VALUE;

        CountingExpert(Expert inner) {
            this.inner = inner;
        }

        @Override
        public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
            calls.incrementAndGet();
            inner.denoise(x, shape, sigma, cond, out);
        }

        @Override
        public int maxBatch() {
            return maxBatch;
        }

        @Override
        public Session open(TensorShape shape, Conditioning cond) {
            open.incrementAndGet();
            return new Session() {
                @Override
                public void denoise(double[] x, double sigma, double[] out) {
                    CountingExpert.this.denoise(x, shape, sigma, cond, out);
                }

                @Override
                public void close() {
                    open.decrementAndGet();
                }
            };
        }
    }

    @Test
    void cancellationStopsWithinOneEvaluationAndClosesSessions() {
        CountingExpert expert = new CountingExpert(new GaussianMixtureExpert("gmm", mixture(3, 2, SHAPE.sampleSize())));
        CancellationToken token = new CancellationToken();
        try (EDiff ediff = pipeline(expert)) {
            Request r = Request.builder().seed(1).sampler(Samplers.heun(), 30).cancellation(token)
                    .onProgress(p -> {
                        if (p.step() == 2) {
                            token.cancel();
                        }
                    }).build();
            assertThrows(CancelledException.class, () -> ediff.generate(r));
            assertEquals(5, expert.calls.get(), "steps 0 and 1 take 2 evaluations each, step 2's predictor 1");
            assertEquals(0, expert.open.get(), "every session is closed");

            expert.calls.set(0);
            Request interrupted = Request.builder().seed(1).sampler(Samplers.euler(), 30).onProgress(p -> {
                if (p.step() == 3) {
                    Thread.currentThread().interrupt();
                }
            }).build();
            assertThrows(CancelledException.class, () -> ediff.generate(interrupted));
            assertTrue(Thread.interrupted(), "the interrupt flag is kept for the caller");
            assertEquals(4, expert.calls.get());
            assertEquals(0, expert.open.get());
        }
    }

    @Test
    void guidanceIsOneBatchedCallWhenTheExpertTakesTheBatchAndTwoCallsOtherwise() {
        List<GaussianMixture> classes = List.of(mixture(1, 3, SHAPE.sampleSize()), mixture(2, 3, SHAPE.sampleSize()));
        CountingExpert batched = new CountingExpert(new GaussianMixtureExpert("cfg", classes));
        CountingExpert unbatched = new CountingExpert(new GaussianMixtureExpert("cfg", classes));
        unbatched.maxBatch = 2;
        Request r = Request.builder().seed(3).count(2).sampler(Samplers.dpmSolverPP2M(), 8).guidance(4.0)
                .conditioning(GaussianMixtureExpert.label(1, 1)).unconditioning(GaussianMixtureExpert.label(0, 1)).build();
        Generation a;
        Generation b;
        try (EDiff e1 = pipeline(batched); EDiff e2 = pipeline(unbatched)) {
            a = e1.generate(r);
            b = e2.generate(r);
        }
        assertEquals(8, batched.calls.get());
        assertEquals(16, unbatched.calls.get());
        assertEquals(8, a.nfe());
        assertEquals(8, b.nfe());
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(a.sample(i).data(), b.sample(i).data(), 1e-12);
        }
    }

    @Test
    void guidanceIntervalSkipsTheUnconditionalBranchOutsideIt() {
        List<GaussianMixture> classes = List.of(mixture(1, 3, SHAPE.sampleSize()), mixture(2, 3, SHAPE.sampleSize()));
        CountingExpert expert = new CountingExpert(new GaussianMixtureExpert("cfg", classes));
        expert.maxBatch = 1; // one call per branch, so calls count branches
        double[] sigmas = Schedules.karras(0.03, 14.6, 7).sigmas(10);
        Guidance g = Guidance.of(3).limitedTo(NoiseInterval.of(0.5, 5.0));
        long inside = java.util.Arrays.stream(sigmas, 0, 10).filter(s -> s >= 0.5 && s < 5.0).count();
        try (EDiff e = pipeline(expert)) {
            e.generate(Request.builder().seed(1).sampler(Samplers.euler(), 10).schedule(Schedules.explicit(sigmas))
                    .guidance(g).conditioning(GaussianMixtureExpert.label(1, 1))
                    .unconditioning(GaussianMixtureExpert.label(0, 1)).build());
        }
        assertEquals(10 + inside, expert.calls.get());
        assertTrue(inside > 0 && inside < 10);
    }

    @Test
    void threeBranchGuidanceCombinesTextAndStyleScales() {
        int d = 4;
        TensorShape shape = new TensorShape(1, d, 1, 1);
        List<GaussianMixture> classes = List.of(mixture(1, 2, d), mixture(2, 2, d), mixture(3, 2, d));
        GaussianMixtureExpert expert = new GaussianMixtureExpert("three", classes);
        List<Conditioning> branches = List.of(GaussianMixtureExpert.label(0, 1), GaussianMixtureExpert.label(1, 1),
                GaussianMixtureExpert.label(2, 1));
        double[] x = {0.3, -1.2, 2.0, 0.5};
        double sigma = 1.7;
        double[] out = new double[d];
        try (GuidedDenoiser g = new GuidedDenoiser(RoutingTree.single(expert), shape, branches, new double[] {5, 2},
                Guidance.NONE, new CancellationToken())) {
            assertTrue(g.isBatched());
            g.denoise(x, sigma, out);
        }
        double[][] dk = new double[3][d];
        for (int k = 0; k < 3; k++) {
            classes.get(k).denoise(x, 0, sigma, dk[k], new double[2]);
        }
        for (int j = 0; j < d; j++) {
            double expected = dk[0][j] + 5 * (dk[1][j] - dk[0][j]) + 2 * (dk[2][j] - dk[1][j]);
            assertEquals(expected, out[j], 1e-12);
        }
    }

    @Test
    void guidanceRescalePullsTheStdTowardsTheConditionalEstimate() {
        int d = 16;
        TensorShape shape = new TensorShape(1, d, 1, 1);
        List<GaussianMixture> classes = List.of(mixture(4, 2, d), mixture(5, 2, d));
        GaussianMixtureExpert expert = new GaussianMixtureExpert("cfg", classes);
        List<Conditioning> branches = List.of(GaussianMixtureExpert.label(0, 1), GaussianMixtureExpert.label(1, 1));
        double[] x = new double[d];
        for (int j = 0; j < d; j++) {
            x[j] = Math.cos(j);
        }
        double[] plain = new double[d];
        double[] full = new double[d];
        double[] cond = new double[d];
        try (GuidedDenoiser g0 = new GuidedDenoiser(RoutingTree.single(expert), shape, branches, new double[] {7},
                Guidance.of(7), new CancellationToken());
             GuidedDenoiser g1 = new GuidedDenoiser(RoutingTree.single(expert), shape, branches, new double[] {7},
                     Guidance.of(7).withRescale(1.0), new CancellationToken())) {
            g0.denoise(x, 2.0, plain);
            g1.denoise(x, 2.0, full);
        }
        classes.get(1).denoise(x, 0, 2.0, cond, new double[2]);
        double ratio = std(cond) / std(plain);
        for (int j = 0; j < d; j++) {
            assertEquals(plain[j] * ratio, full[j], 1e-12);
        }
        assertEquals(std(cond), std(full), 1e-12);
    }

    private static double std(double[] a) {
        double m = java.util.Arrays.stream(a).average().orElseThrow();
        return Math.sqrt(java.util.Arrays.stream(a).map(v -> (v - m) * (v - m)).sum() / a.length);
    }
}
