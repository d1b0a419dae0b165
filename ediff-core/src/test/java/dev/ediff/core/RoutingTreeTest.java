package dev.ediff.core;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.NoiseInterval;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;

import static dev.ediff.core.Generators.decimals;
import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.lists;

class RoutingTreeTest {

    static Expert named(String name) {
        return new Expert() {
            @Override
            public void denoise(double[] x, dev.ediff.api.TensorShape shape, double sigma,
                                dev.ediff.api.Conditioning cond, double[] out) {
                throw new UnsupportedOperationException();
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    /** Sorted distinct cut points in (0, 1000], up to 12 of them. */
    static Gen<List<Double>> boundaries() {
        return lists().of(decimals(1e-4, 1e3, 6)).ofSizeBetween(0, 12).map(l -> (List<Double>) new ArrayList<>(new TreeSet<>(l)));
    }

    /** Any partition of [0, inf) into shuffled contiguous intervals routes every sigma to the one leaf holding it. */
    @Test
    void everySigmaGoesToTheOneExpertWhoseIntervalHoldsIt() {
        qt().withExamples(300).forAll(boundaries(), decimals(0, 2e3)).checkAssert((cuts, sigma) -> {
            List<Double> edges = new ArrayList<>();
            edges.add(0.0);
            edges.addAll(cuts);
            edges.add(Double.POSITIVE_INFINITY);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i + 1 < edges.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new java.util.Random(cuts.hashCode()));
            RoutingTree.Builder b = RoutingTree.builder();
            List<Expert> experts = new ArrayList<>();
            for (int i = 0; i + 1 < edges.size(); i++) {
                experts.add(named("e" + i));
            }
            for (int i : order) {
                b.expert(NoiseInterval.of(edges.get(i), edges.get(i + 1)), experts.get(i));
            }
            RoutingTree tree = b.build();
            // also probe the boundaries themselves, which belong to the interval above
            List<Double> probes = new ArrayList<>(cuts);
            probes.add(sigma);
            for (double s : probes) {
                int owners = 0;
                Expert owner = null;
                for (int i = 0; i + 1 < edges.size(); i++) {
                    if (edges.get(i) <= s && s < edges.get(i + 1)) {
                        owners++;
                        owner = experts.get(i);
                    }
                }
                assertEquals(1, owners);
                assertSame(owner, tree.route(s), "sigma " + s);
            }
        });
    }

    @Test
    void aSigmaExactlyOnABoundaryBelongsToTheIntervalAbove() {
        Expert low = named("low");
        Expert high = named("high");
        RoutingTree tree = RoutingTree.builder()
                .expert(NoiseInterval.of(0, 1.7494221961418408), low)
                .expert(NoiseInterval.atLeast(1.7494221961418408), high).build();
        assertSame(high, tree.route(1.7494221961418408));
        assertSame(low, tree.route(Math.nextDown(1.7494221961418408)));
        assertSame(low, tree.route(0.0));
    }

    @Test
    void binarySplitsBuildTheEDiffTree() {
        Expert root = named("root");
        Expert lowAll = named("low");
        Expert high = named("high");
        Expert mid = named("mid");
        Expert lowest = named("lowest");
        RoutingTree tree = RoutingTree.splitting(NoiseInterval.of(0.002, 80), root)
                .split(5.0, lowAll, high)
                .split(0.5, lowest, mid)
                .build();
        assertEquals(3, tree.size());
        assertEquals(List.of(NoiseInterval.of(0.002, 0.5), NoiseInterval.of(0.5, 5.0), NoiseInterval.of(5.0, 80)),
                tree.leaves().stream().map(RoutingTree.Leaf::interval).toList());
        assertSame(high, tree.route(79.9));
        assertSame(mid, tree.route(0.5));
        assertSame(lowest, tree.route(0.002));
        EDiffException outside = assertThrows(EDiffException.class, () -> tree.route(80));
        assertContains(outside.getMessage(), "sigma = 80.0", "[0.002, 80.0)");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> RoutingTree.splitting(NoiseInterval.of(0, 1), root).split(1.0, low(), low()));
        assertContains(bad.getMessage(), "split point 1.0");
    }

    private static Expert low() {
        return named("x");
    }

    @Test
    void gapsOverlapsAndEmptyListsAreRejectedWithTheOffendingIntervals() {
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class, () -> RoutingTree.builder()
                .expert(NoiseInterval.of(0, 1), named("a")).expert(NoiseInterval.atLeast(2), named("b")).build());
        assertContains(gap.getMessage(), "gap", "[0.0, 1.0)", "[2.0, inf)", "[1.0, 2.0)");
        IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class, () -> RoutingTree.builder()
                .expert(NoiseInterval.of(0, 3), named("a")).expert(NoiseInterval.atLeast(2), named("b")).build());
        assertContains(overlap.getMessage(), "overlap", "[0.0, 3.0) (a)", "[2.0, inf) (b)");
        IllegalArgumentException top = assertThrows(IllegalArgumentException.class, () -> RoutingTree.builder()
                .expert(NoiseInterval.of(0, 3), named("a")).build());
        assertContains(top.getMessage(), "gap above", "[0.0, 3.0)");
        IllegalArgumentException bottom = assertThrows(IllegalArgumentException.class, () -> RoutingTree.builder()
                .expert(NoiseInterval.atLeast(0.1), named("a")).build());
        assertContains(bottom.getMessage(), "gap below");
        RoutingTree ok = RoutingTree.builder().covering(NoiseInterval.of(0.1, 10))
                .expert(NoiseInterval.of(0.1, 10), named("a")).build();
        assertEquals(1, ok.size());
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class, () -> RoutingTree.builder().build());
        assertContains(empty.getMessage(), "at least one expert");
        assertThrows(IllegalArgumentException.class, () -> NoiseInterval.of(2, 1));
        assertThrows(IllegalArgumentException.class, () -> NoiseInterval.of(Double.NaN, 1));
    }

    @Test
    void lookupDoesNotAllocate() {
        RoutingTree.Builder b = RoutingTree.builder();
        for (int i = 0; i < 64; i++) {
            b.expert(i == 63 ? NoiseInterval.atLeast(i) : NoiseInterval.of(i, i + 1), named("e" + i));
        }
        RoutingTree tree = b.build();
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (int i = 0; i < 100_000; i++) { // warm-up for the JIT
            sum += tree.indexOf(i % 70 + 0.5);
        }
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100_000; i++) {
            sum += tree.indexOf(i % 70 + 0.5);
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertTrue(sum > 0);
        assertTrue(allocated < 10_000, "routing 100k evaluations allocated " + allocated + " bytes");
    }
}
