package dev.ediff.core;

import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.image.Resampler;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkspaceTest {

    @Test
    void aKeptArrayComesBackZeroFilledAndOnlyToOneTaker() {
        Workspace w = new Workspace();
        double[] a = w.take(10);
        Arrays.fill(a, 7.0);
        w.give(a);
        assertEquals(80, w.keptBytes());
        double[] b = w.take(10);
        assertSame(a, b, "the kept array is reused");
        assertArrayEquals(new double[10], b, "as new double[10] would be");
        assertNotSame(b, w.take(10), "a taken array is not handed out twice");
        assertEquals(0, w.keptBytes());
        assertEquals(3, w.take(3).length, "another length is a new array");
    }

    @Test
    void aLeaseGivesBackEveryArrayTakenThroughItWhenItCloses() {
        Workspace w = new Workspace();
        java.util.Set<double[]> taken = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        try (Workspace.Lease lease = w.lease()) {
            for (int i = 0; i < 6; i++) { // more than the lease's first capacity of 4
                double[] a = lease.take(10);
                a[0] = 1;
                taken.add(a);
            }
            assertEquals(0, w.keptBytes(), "nothing is given back before the lease closes");
        }
        assertEquals(6 * 80, w.keptBytes());
        for (int i = 0; i < 6; i++) {
            double[] again = w.take(10);
            assertTrue(taken.remove(again), "a leased array is handed out again");
            assertEquals(0.0, again[0]);
        }
    }

    @Test
    void atMostMaxPerLengthArraysOfALengthAreKeptAndClearDropsThem() {
        Workspace w = new Workspace();
        for (int i = 0; i < Workspace.MAX_PER_LENGTH + 5; i++) {
            w.give(new double[4]);
        }
        assertEquals(Workspace.MAX_PER_LENGTH * 32L, w.keptBytes());
        w.clear();
        assertEquals(0, w.keptBytes());
    }

    @Test
    void withoutABindingNothingIsKeptAndABindingEndsWithItsScope() {
        Workspace unbound = Workspace.current();
        double[] a = unbound.take(5);
        unbound.give(a);
        assertNotSame(a, unbound.take(5), "unbound: every take is a new array");
        assertEquals(0, unbound.keptBytes());
        Workspace outer = new Workspace();
        Workspace inner = new Workspace();
        try (Workspace.Binding b = Workspace.bind(outer)) {
            assertSame(outer, Workspace.current());
            try (Workspace.Binding c = Workspace.bind(inner)) {
                assertSame(inner, Workspace.current());
            }
            assertSame(outer, Workspace.current(), "the inner binding restores the outer one");
        }
        assertSame(unbound, Workspace.current());
    }

    /** D(x) = x / (1 + sigma^2) + the text scalar: depends on x, so a stale array would change the result. */
    private static Expert shrink() {
        return (x, shape, sigma, cond, out) -> {
            int d = shape.sampleSize();
            for (int b = 0; b < shape.batch(); b++) {
                double c = cond.get("t5_tokens").map(t -> (double) t.get(0)).orElse(0.0);
                for (int i = 0; i < d; i++) {
                    out[b * d + i] = x[b * d + i] / (1 + sigma * sigma) + c * (1 + b);
                }
            }
        };
    }

    private static EDiff pipeline(Sampler base, Sampler sr) {
        Stage s0 = Stage.builder("base", RoutingTree.single(shrink()), TensorShape.of(3, 4, 4))
                .defaultSampler(base, 6).build();
        Stage s1 = Stage.builder("sr", RoutingTree.single(shrink()), TensorShape.of(3, 8, 8))
                .defaultSampler(sr, 5).superResolution(0.1).build();
        return EDiff.builder().name("fixture").stage(s0).stage(s1)
                .textEncoder(new CascadeTest.HashEncoder("t5", 100)).build();
    }

    private static Request request(String prompt, long seed, int count) {
        return Request.prompt(prompt).seed(seed).count(count).guidance(2.5).build();
    }

    @Test
    void reusedArraysGiveBitIdenticalSamplesToAFreshPipeline() {
        List<Sampler[]> pairs = List.of(
                new Sampler[] {Samplers.dpmSolverPP2M(), Samplers.heun()},
                new Sampler[] {Samplers.dpmSolverPP2MSde(), Samplers.heun(0.5, 0, 100, 1)},
                new Sampler[] {Samplers.lms(), Samplers.eulerAncestral()},
                new Sampler[] {Samplers.dpm2(), Samplers.euler()});
        for (Sampler[] p : pairs) {
            Generation expected;
            try (EDiff fresh = pipeline(p[0], p[1])) {
                expected = fresh.generate(request("a blue square", 9, 2));
            }
            try (EDiff reused = pipeline(p[0], p[1])) {
                reused.generate(request("a red circle", 1, 2)); // leaves its arrays, full of other values
                reused.generate(request("a green star", 4, 3)); // other lengths as well
                for (int round = 0; round < 2; round++) {
                    Generation g = reused.generate(request("a blue square", 9, 2));
                    for (int b = 0; b < 2; b++) {
                        assertArrayEquals(expected.sample(b).data(), g.sample(b).data(),
                                p[0].name() + "/" + p[1].name() + " image " + b + " round " + round);
                    }
                }
            }
        }
    }

    @Test
    void resizingIntoGivenArraysEqualsTheAllocatingResize() {
        Random r = new Random(3);
        double[] src = new double[2 * 5 * 7];
        for (int i = 0; i < src.length; i++) {
            src[i] = r.nextGaussian();
        }
        for (int[] to : new int[][] {{10, 14}, {3, 4}, {5, 7}, {9, 2}}) {
            double[] expected = Resampler.resize(src, 2, 5, 7, to[0], to[1]);
            double[] scratch = new double[Resampler.scratchSize(2, 5, to[1]) + 3];
            Arrays.fill(scratch, Double.NaN); // stale values must not leak into the result
            double[] out = new double[2 * to[0] * to[1]];
            Arrays.fill(out, Double.NaN);
            Resampler.resize(src, 2, 5, 7, to[0], to[1], scratch, out);
            assertArrayEquals(expected, out, 0.0, Arrays.toString(to));
        }
        assertThrows(IllegalArgumentException.class,
                () -> Resampler.resize(src, 2, 5, 7, 10, 14, new double[1], new double[2 * 10 * 14]));
    }
}
