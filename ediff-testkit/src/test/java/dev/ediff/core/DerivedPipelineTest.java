package dev.ediff.core;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.ForwardingExpert;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.RoutedEvaluation;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link EDiff#toBuilder()}, {@link RoutingTree#withExpert} and {@link ForwardingExpert}. */
class DerivedPipelineTest {

    static final TensorShape SHAPE = EDiffTest.SHAPE;

    /** An expert returning {@code value} everywhere. */
    static Expert constant(String name, double value) {
        return new Expert() {
            @Override
            public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
                java.util.Arrays.fill(out, value);
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    static RoutingTree threeExperts() {
        return RoutingTree.builder().expert(NoiseInterval.below(0.5), constant("low", 0))
                .expert(NoiseInterval.of(0.5, 5), constant("mid", 0))
                .expert(NoiseInterval.atLeast(5), constant("high", 0)).build();
    }

    static String describe(RoutingTree t) {
        StringBuilder sb = new StringBuilder();
        for (RoutingTree.Leaf l : t.leaves()) {
            sb.append(l.interval()).append(l.expert().name()).append(' ');
        }
        return sb.toString().trim();
    }

    @Test
    void withExpertClipsNeighboursAndSplitsALeafItFallsInside() {
        RoutingTree t = threeExperts();
        Expert mine = constant("mine", 1);
        assertEquals("[0.0, 0.5)mine [0.5, 5.0)mid [5.0, inf)high", describe(t.withExpert(NoiseInterval.below(0.5), mine)));
        assertEquals("[0.0, 0.5)low [0.5, 1.0)mid [1.0, 10.0)mine [10.0, inf)high",
                describe(t.withExpert(NoiseInterval.of(1, 10), mine)));
        assertEquals("[0.0, 0.5)low [0.5, 2.0)mid [2.0, 3.0)mine [3.0, 5.0)mid [5.0, inf)high",
                describe(t.withExpert(NoiseInterval.of(2, 3), mine)));
        assertEquals("[0.0, 0.2)low [0.2, inf)mine", describe(t.withExpert(NoiseInterval.atLeast(0.2), mine)));
        assertEquals("[0.0, inf)mine", describe(t.withExpert(NoiseInterval.all(), mine)));
        // the original is unchanged, and routing follows the new leaves
        assertEquals("[0.0, 0.5)low [0.5, 5.0)mid [5.0, inf)high", describe(t));
        RoutingTree r = t.withExpert(NoiseInterval.of(2, 3), mine);
        assertEquals("mid", r.route(1.999).name());
        assertEquals("mine", r.route(2.0).name());
        assertEquals("mid", r.route(3.0).name());
        RoutingTree bounded = RoutingTree.builder().covering(NoiseInterval.of(1, 2))
                .expert(NoiseInterval.of(1, 2), constant("a", 0)).build();
        assertContains(assertThrows(IllegalArgumentException.class,
                () -> bounded.withExpert(NoiseInterval.of(3, 4), mine)).getMessage(), "gap");
    }

    /** A resource that counts how often it was closed. */
    static final class Counted implements AutoCloseable {
        final AtomicInteger closes = new AtomicInteger();

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    @Test
    void derivedPipelinesShareWhatIsLoadedUntilTheLastOneCloses() {
        Counted loaded = new Counted();
        Counted added = new Counted();
        EDiff parent = EDiff.builder(threeExperts(), SHAPE).owning(loaded).build();
        EDiff child = parent.toBuilder().replaceExpert("base", NoiseInterval.below(0.5), constant("mine", 1))
                .owning(added).build();
        EDiff grandchild = child.toBuilder().build();
        parent.close();
        assertEquals(0, loaded.closes.get());
        assertThrows(IllegalStateException.class, parent::toBuilder);
        Generation g = child.generate(Request.builder().seed(1).sampler(Samplers.euler(), 4).build());
        assertTrue(g.evaluations().stream().map(RoutedEvaluation::expert).toList().contains("mine"));
        child.close();
        assertEquals(0, loaded.closes.get());
        assertEquals(0, added.closes.get());
        grandchild.close();
        assertEquals(1, loaded.closes.get());
        assertEquals(1, added.closes.get());
        grandchild.close();
        assertEquals(1, loaded.closes.get(), "closing twice releases once");
    }

    @Test
    void aBuilderOfAClosedFamilyFailsClearly() {
        Counted loaded = new Counted();
        EDiff parent = EDiff.builder(threeExperts(), SHAPE).owning(loaded).build();
        EDiffBuilder stale = parent.toBuilder();
        parent.close();
        assertEquals(1, loaded.closes.get());
        assertContains(assertThrows(IllegalStateException.class, stale::build).getMessage(), "closed", "toBuilder()");
    }

    @Test
    void derivedPipelineKeepsTheStageSettingsAndReplacesOnlyTheInterval() {
        Stage base = Stage.builder("base", threeExperts(), SHAPE).defaultSampler(Samplers.heun(), 5)
                .roles(Set.of("t5_tokens")).build();
        try (EDiff parent = EDiff.builder().name("m").stage(base).build();
             EDiff child = parent.toBuilder().replaceExpert("base", NoiseInterval.below(0.5), constant("mine", 1))
                     .build()) {
            Stage s = child.stages().get(0);
            assertEquals("heun", s.defaultSampler().name());
            assertEquals(5, s.defaultSteps());
            assertEquals(Set.of("t5_tokens"), s.roles().orElseThrow());
            assertEquals("m", child.name());
            Generation g = child.generate(Request.builder().seed(3).build());
            for (RoutedEvaluation e : g.evaluations()) {
                assertEquals(e.sigma() < 0.5 ? "mine" : e.sigma() < 5 ? "mid" : "high", e.expert(), "sigma " + e.sigma());
            }
            assertContains(assertThrows(IllegalArgumentException.class, () -> parent.toBuilder()
                    .replaceExpert("sr", NoiseInterval.all(), constant("x", 0))).getMessage(), "no stage 'sr'", "[base]");
        }
    }

    /** Counts sessions opened, evaluations, aborts and closes; an evaluation can be made to block. */
    static final class Probe implements Expert {
        final Expert inner;
        final AtomicInteger opens = new AtomicInteger();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger aborts = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();
        volatile CountDownLatch blockAt;
        final CountDownLatch entered = new CountDownLatch(1);

        Probe(Expert inner) {
            this.inner = inner;
        }

        @Override
        public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
            throw new AssertionError("a forwarding expert must use sessions, not per-call denoise");
        }

        @Override
        public int maxBatch() {
            return 7;
        }

        @Override
        public String name() {
            return "probe";
        }

        @Override
        public Session open(TensorShape shape, Conditioning cond) {
            opens.incrementAndGet();
            return new Session() {
                @Override
                public void denoise(double[] x, double sigma, double[] out) {
                    calls.incrementAndGet();
                    CountDownLatch b = blockAt;
                    if (b != null) {
                        entered.countDown();
                        try {
                            b.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    inner.denoise(x, shape, sigma, cond, out);
                }

                @Override
                public void abort() {
                    aborts.incrementAndGet();
                    CountDownLatch b = blockAt;
                    if (b != null) {
                        b.countDown();
                    }
                }

                @Override
                public void close() {
                    closes.incrementAndGet();
                }
            };
        }
    }

    @Test
    void forwardingExpertUsesOneInnerSessionPerRunAndForwardsBatchLimitAndName() {
        Probe probe = new Probe(new GaussianMixtureExpert("gmm", EDiffTest.mixture(5, 2, 48)));
        Expert forwarding = new ForwardingExpert(probe) {
        };
        assertEquals("probe", forwarding.name());
        assertEquals(7, forwarding.maxBatch());
        Request r = Request.builder().seed(11).count(2).sampler(Samplers.heun(), 6).build();
        Generation direct;
        try (EDiff e = EDiffTest.pipeline(new GaussianMixtureExpert("gmm", EDiffTest.mixture(5, 2, 48)))) {
            direct = e.generate(r);
        }
        try (EDiff e = EDiffTest.pipeline(forwarding)) {
            Generation g = e.generate(r);
            assertArrayEquals(direct.sample(0).data(), g.sample(0).data(), "forwarding changes nothing");
            assertArrayEquals(direct.sample(1).data(), g.sample(1).data());
            assertEquals(1, probe.opens.get(), "one inner session for the whole run");
            assertEquals(g.nfe(), probe.calls.get());
            assertEquals(1, probe.closes.get());
        }
    }

    @Test
    void forwardingExpertCanChangeTheEstimate() {
        Expert half = new ForwardingExpert(constant("one", 1)) {
            @Override
            protected void denoise(Session inner, TensorShape shape, Conditioning cond, double[] x, double sigma,
                                   double[] out) {
                inner.denoise(x, sigma, out);
                for (int i = 0; i < out.length; i++) {
                    out[i] *= 0.5;
                }
            }
        };
        double[] out = new double[SHAPE.size()];
        half.denoise(new double[SHAPE.size()], SHAPE, 1.0, Conditioning.NONE, out);
        assertEquals(0.5, out[0]);
        try (EDiff e = EDiffTest.pipeline(half)) {
            // Euler's last step to sigma 0 lands on D exactly
            assertEquals(0.5, e.generate(Request.builder().seed(1).build()).sample(0).get(3), 1e-12);
        }
    }

    @Test
    void cancellationReachesTheWrappedExpertsSession() throws Exception {
        Probe probe = new Probe(constant("zero", 0));
        probe.blockAt = new CountDownLatch(1);
        CancellationToken token = new CancellationToken();
        try (EDiff e = EDiffTest.pipeline(new ForwardingExpert(probe) {
        })) {
            Thread canceller = new Thread(() -> {
                try {
                    probe.entered.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
                token.cancel();
            });
            canceller.start();
            assertThrows(CancelledException.class, () -> e.generate(Request.builder().seed(1).cancellation(token).build()));
            canceller.join();
        }
        assertEquals(1, probe.aborts.get(), "abort forwarded to the running inner session");
        assertEquals(1, probe.calls.get());
        assertEquals(1, probe.closes.get());
    }

    @Test
    void aStageTakingAnImageEmbeddingWithoutAnImageEncoderFailsClearly() {
        Stage base = Stage.builder("base", threeExperts(), SHAPE).defaultSampler(Samplers.euler(), 2)
                .roles(Set.of(Conditioning.IMAGE_EMBEDDING)).build();
        try (EDiff e = EDiff.builder().stage(base).build()) {
            assertFalse(e.imageEncoder().isPresent());
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.builder().seed(1)
                    .build())).getMessage(), "stage 'base'", "image_embedding", "no image encoder", "toBuilder()");
        }
    }
}
