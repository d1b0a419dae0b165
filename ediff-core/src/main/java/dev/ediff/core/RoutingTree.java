package dev.ediff.core;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.NoiseInterval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * eDiff-I's ensemble of expert denoisers: half-open noise intervals {@code [lo, hi)}, each owned by
 * one expert, that together cover a range of sigma without gaps or overlaps. Every denoiser
 * evaluation is routed by its own sigma, so the corrector of a second-order step may go to a
 * different expert than its predictor. Lookup is a binary search over the lower bounds:
 * O(log n), no allocation.
 *
 * <p>Build from a list of intervals with {@link #builder()}, or the way eDiff-I trains its experts,
 * by binary splits of a parent interval, with {@link #splitting}.
 */
public final class RoutingTree {

    /** One leaf: an interval and its expert. */
    public record Leaf(NoiseInterval interval, Expert expert) {
    }

    private final double[] lows;
    private final double[] highs;
    private final Expert[] experts;
    private final List<Leaf> leaves;

    private RoutingTree(List<Leaf> sorted) {
        int n = sorted.size();
        lows = new double[n];
        highs = new double[n];
        experts = new Expert[n];
        for (int i = 0; i < n; i++) {
            lows[i] = sorted.get(i).interval().lo();
            highs[i] = sorted.get(i).interval().hi();
            experts[i] = sorted.get(i).expert();
        }
        leaves = List.copyOf(sorted);
    }

    /**
     * A tree with a single expert for every sigma.
     *
     * @param expert the expert
     * @return the tree
     */
    public static RoutingTree single(Expert expert) {
        return builder().expert(NoiseInterval.all(), expert).build();
    }

    /** {@return a builder from explicit intervals} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts an eDiff-I style tree: one root expert owning {@code range}, to be split.
     *
     * @param range the noise levels the tree covers
     * @param root  the expert owning all of it until split
     * @return the splitter
     */
    public static Splitter splitting(NoiseInterval range, Expert root) {
        return new Splitter(range, root);
    }

    /**
     * The index of the leaf owning {@code sigma}.
     *
     * @param sigma the noise level
     * @return the leaf index
     */
    public int indexOf(double sigma) {
        int i = Arrays.binarySearch(lows, sigma);
        if (i < 0) {
            i = -i - 2; // the last leaf whose lower bound is below sigma
        }
        if (i < 0 || !(sigma < highs[i])) {
            throw new EDiffException("no expert owns sigma = " + sigma + "; the experts cover "
                    + range() + " (leaves " + intervals() + ")");
        }
        return i;
    }

    /**
     * The expert owning {@code sigma}.
     *
     * @param sigma the noise level
     * @return the expert
     */
    public Expert route(double sigma) {
        return experts[indexOf(sigma)];
    }

    /**
     * The expert of leaf {@code index}.
     *
     * @param index the leaf index
     * @return the expert
     */
    public Expert expert(int index) {
        return experts[index];
    }

    /** {@return the number of leaves} */
    public int size() {
        return experts.length;
    }

    /** {@return the leaves in increasing sigma order} */
    public List<Leaf> leaves() {
        return leaves;
    }

    /** {@return the covered range {@code [lowest lo, highest hi)}} */
    public NoiseInterval range() {
        return new NoiseInterval(lows[0], highs[highs.length - 1]);
    }

    /** {@return the smallest batch any expert accepts} */
    public int maxBatch() {
        int m = Integer.MAX_VALUE;
        for (Expert e : experts) {
            m = Math.min(m, e.maxBatch());
        }
        return m;
    }

    /**
     * A tree where {@code expert} owns {@code interval} and the other leaves keep the rest of their
     * intervals: a neighbour overlapping it is clipped, a leaf inside it is dropped, and a leaf
     * holding it in its middle keeps the parts below and above. The covered range stays the same
     * (or grows, when {@code interval} reaches past it).
     *
     * <pre>{@code
     * // [0, 0.5) -> low, [0.5, 5) -> mid, [5, inf) -> high
     * tree.withExpert(NoiseInterval.below(1.0), mine); // [0, 1) -> mine, [1, 5) -> mid, [5, inf) -> high
     * }</pre>
     *
     * @param interval the noise levels {@code expert} takes over
     * @param expert   the new expert
     * @return a new tree; this one is unchanged
     * @throws IllegalArgumentException when {@code interval} would leave a gap beside the covered range
     */
    public RoutingTree withExpert(NoiseInterval interval, Expert expert) {
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(expert, "expert");
        NoiseInterval covered = range();
        Builder b = builder().covering(covered).expert(interval, expert);
        for (Leaf leaf : leaves) {
            NoiseInterval iv = leaf.interval();
            if (iv.lo() < interval.lo()) {
                b.expert(new NoiseInterval(iv.lo(), Math.min(iv.hi(), interval.lo())), leaf.expert());
            }
            if (iv.hi() > interval.hi()) {
                b.expert(new NoiseInterval(Math.max(iv.lo(), interval.hi()), iv.hi()), leaf.expert());
            }
        }
        return b.build();
    }

    private List<NoiseInterval> intervals() {
        return leaves.stream().map(Leaf::interval).toList();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("RoutingTree[");
        for (int i = 0; i < leaves.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(leaves.get(i).interval()).append(" -> ").append(experts[i].name());
        }
        return sb.append(']').toString();
    }

    /** Collects intervals; {@link #build} checks they tile the required range. */
    public static final class Builder {
        private final List<Leaf> leaves = new ArrayList<>();
        private NoiseInterval required = NoiseInterval.all();

        private Builder() {
        }

        /**
         * Adds an expert owning {@code interval}.
         *
         * @param interval its noise levels
         * @param expert   the expert
         * @return this builder
         */
        public Builder expert(NoiseInterval interval, Expert expert) {
            leaves.add(new Leaf(Objects.requireNonNull(interval, "interval"), Objects.requireNonNull(expert, "expert")));
            return this;
        }

        /**
         * The range of sigma the experts must cover together; {@code [0, inf)} unless set.
         *
         * @param range the range
         * @return this builder
         */
        public Builder covering(NoiseInterval range) {
            this.required = Objects.requireNonNull(range, "range");
            return this;
        }

        /**
         * Builds the tree.
         *
         * @return the tree
         * @throws IllegalArgumentException on an empty expert list, or naming the intervals that
         *                                  overlap, leave a gap, or fail to reach the required range
         */
        public RoutingTree build() {
            if (leaves.isEmpty()) {
                throw new IllegalArgumentException("a routing tree needs at least one expert");
            }
            List<Leaf> sorted = new ArrayList<>(leaves);
            sorted.sort(Comparator.comparingDouble(l -> l.interval().lo()));
            for (int i = 1; i < sorted.size(); i++) {
                NoiseInterval a = sorted.get(i - 1).interval();
                NoiseInterval b = sorted.get(i).interval();
                if (a.hi() > b.lo()) {
                    throw new IllegalArgumentException("expert intervals overlap: " + a + " (" + sorted.get(i - 1).expert().name()
                            + ") and " + b + " (" + sorted.get(i).expert().name() + ")");
                }
                if (a.hi() < b.lo()) {
                    throw new IllegalArgumentException("gap between expert intervals " + a + " and " + b
                            + ": no expert owns [" + a.hi() + ", " + b.lo() + ")");
                }
            }
            NoiseInterval first = sorted.get(0).interval();
            NoiseInterval last = sorted.get(sorted.size() - 1).interval();
            if (first.lo() > required.lo()) {
                throw new IllegalArgumentException("gap below the lowest expert interval " + first
                        + ": the required range " + required + " starts at " + required.lo());
            }
            if (last.hi() < required.hi()) {
                throw new IllegalArgumentException("gap above the highest expert interval " + last
                        + ": the required range " + required + " ends at " + required.hi());
            }
            return new RoutingTree(sorted);
        }
    }

    /**
     * eDiff-I's branching: each {@link #split} cuts the leaf that holds the split point into two
     * children, the lower one {@code [lo, at)} and the upper one {@code [at, hi)}.
     */
    public static final class Splitter {
        private final List<Leaf> leaves = new ArrayList<>();

        private Splitter(NoiseInterval range, Expert root) {
            leaves.add(new Leaf(Objects.requireNonNull(range, "range"), Objects.requireNonNull(root, "root")));
        }

        /**
         * Splits the leaf containing {@code at} (strictly inside it) into {@code below} and {@code above}.
         *
         * @param at    the new boundary
         * @param below the expert for the leaf's part below {@code at}
         * @param above the expert for the leaf's part from {@code at} on
         * @return this splitter
         * @throws IllegalArgumentException if {@code at} is not strictly inside a leaf
         */
        public Splitter split(double at, Expert below, Expert above) {
            Objects.requireNonNull(below, "below");
            Objects.requireNonNull(above, "above");
            for (int i = 0; i < leaves.size(); i++) {
                NoiseInterval iv = leaves.get(i).interval();
                if (iv.lo() < at && at < iv.hi()) {
                    leaves.set(i, new Leaf(new NoiseInterval(iv.lo(), at), below));
                    leaves.add(i + 1, new Leaf(new NoiseInterval(at, iv.hi()), above));
                    return this;
                }
            }
            throw new IllegalArgumentException("split point " + at + " is not strictly inside any leaf of "
                    + leaves.stream().map(Leaf::interval).toList());
        }

        /**
         * Builds the tree.
         *
         * @return the tree
         */
        public RoutingTree build() {
            return new RoutingTree(leaves);
        }
    }
}
