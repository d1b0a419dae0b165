package dev.ediff.core;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Denoiser;
import dev.ediff.api.Expert;
import dev.ediff.api.Guidance;
import dev.ediff.api.RoutedEvaluation;
import dev.ediff.api.TensorShape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The denoiser a sampler sees: routes each evaluation by its sigma to an expert of the
 * {@link RoutingTree} and combines guidance branches.
 *
 * <p>Branches are ordered from least to most conditioned, {@code c_0} (unconditional) ..
 * {@code c_{K-1}}, with scales {@code g_1 .. g_{K-1}}:
 * {@code D = D_0 + sum_k g_k (D_k - D_{k-1})}. Two branches give classifier-free guidance
 * {@code D_u + g (D_c - D_u)}; three give separate text and style scales
 * {@code D_u + g_text (D_c - D_u) + g_style (D_cs - D_c)}. All branches go to the expert in one
 * batched call when it accepts {@code K * B} samples and the branches carry the same conditioning
 * roles; otherwise one call per branch. The guidance interval limits the first
 * {@code intervalScales} scales (text guidance); the others (style guidance) apply at every sigma.
 * A scale outside its interval counts as 1; where every scale is 1 only {@code c_{K-1}} is evaluated.
 *
 * <p>Owns the expert sessions it opens; {@link #close} releases them.
 */
public final class GuidedDenoiser implements Denoiser, AutoCloseable {

    private final RoutingTree tree;
    private final TensorShape shape;
    private final List<Conditioning> branches;
    private final double[] scales;
    private final int intervalScales;
    private final double[] active; // the scales in effect at the current sigma
    private final Guidance guidance;
    private final CancellationToken cancellation;
    private final boolean batched;
    private final Expert.Session[][] sessions; // [leaf][branch], slot K = all branches batched
    private final Workspace workspace; // where xs and outs come from and go back to
    private final double[] xs;   // K copies of x, for the batched call
    private final double[] outs; // K outputs
    private Conditioning batchedConditioning; // the K branches concatenated, shared by every expert
    private final List<RoutedEvaluation> evaluations = new ArrayList<>();
    private volatile Expert.Session running;
    private long modelNanos;
    private String lastExpert = "";
    private boolean closed;

    /**
     * @param tree         the experts
     * @param shape        shape of the batch the sampler walks
     * @param branches     conditionings from least to most conditioned, each of batch {@code shape.batch()}
     *                     (or {@link Conditioning#NONE})
     * @param scales       {@code branches.size() - 1} guidance scales
     * @param guidance     rescale and interval (its scale is not used here: {@code scales} are)
     * @param cancellation checked before every evaluation
     */
    public GuidedDenoiser(RoutingTree tree, TensorShape shape, List<Conditioning> branches, double[] scales,
                          Guidance guidance, CancellationToken cancellation) {
        this(tree, shape, branches, scales, scales.length, guidance, cancellation);
    }

    /**
     * @param tree           the experts
     * @param shape          shape of the batch the sampler walks
     * @param branches       conditionings from least to most conditioned, each of batch {@code shape.batch()}
     *                       (or {@link Conditioning#NONE})
     * @param scales         {@code branches.size() - 1} guidance scales
     * @param intervalScales how many of the first scales the guidance interval limits (text guidance);
     *                       the rest (style guidance) apply at every sigma
     * @param guidance       rescale and interval (its scale is not used here: {@code scales} are)
     * @param cancellation   checked before every evaluation
     */
    public GuidedDenoiser(RoutingTree tree, TensorShape shape, List<Conditioning> branches, double[] scales,
                          int intervalScales, Guidance guidance, CancellationToken cancellation) {
        if (intervalScales < 0 || intervalScales > scales.length) {
            throw new IllegalArgumentException("intervalScales must be in [0, " + scales.length + "], got " + intervalScales);
        }
        if (branches.isEmpty() || scales.length != branches.size() - 1) {
            throw new IllegalArgumentException("need K >= 1 branches and K - 1 scales, got " + branches.size()
                    + " branches and " + scales.length + " scales");
        }
        for (double g : scales) {
            if (!Double.isFinite(g) || g < 0) {
                throw new IllegalArgumentException("guidance scales must be finite and >= 0, got " + Arrays.toString(scales));
            }
        }
        for (int k = 0; k < branches.size(); k++) {
            int b = branches.get(k).batch();
            if (b != 0 && b != shape.batch()) {
                throw new IllegalArgumentException("guidance branch " + k + " has conditioning of batch " + b
                        + ", the samples have batch " + shape.batch());
            }
        }
        this.tree = tree;
        this.shape = shape;
        this.branches = List.copyOf(branches);
        this.scales = scales.clone();
        this.intervalScales = intervalScales;
        this.active = new double[scales.length];
        this.guidance = guidance;
        this.cancellation = cancellation;
        int k = branches.size();
        boolean sameRoles = branches.stream().allMatch(c -> c.roles().equals(branches.get(k - 1).roles()));
        this.batched = k > 1 && sameRoles && (long) k * shape.batch() <= tree.maxBatch();
        this.sessions = new Expert.Session[tree.size()][k + 1];
        this.workspace = Workspace.current();
        this.xs = batched ? workspace.take(Math.toIntExact(k * shape.size())) : null;
        this.outs = k > 1 ? workspace.take(Math.toIntExact(k * shape.size())) : null;
    }

    /** {@return every evaluation so far, in order} */
    public List<RoutedEvaluation> evaluations() {
        return evaluations;
    }

    /** {@return the name of the expert that served the latest evaluation} */
    public String lastExpert() {
        return lastExpert;
    }

    /** {@return the nanoseconds spent inside experts} */
    public long modelNanos() {
        return modelNanos;
    }

    /** {@return true when guidance branches are evaluated in one batched call} */
    public boolean isBatched() {
        return batched;
    }

    /** Asks a running expert call to stop (from any thread). */
    public void abortRunning() {
        Expert.Session s = running;
        if (s != null) {
            s.abort();
        }
    }

    @Override
    public void denoise(double[] x, double sigma, double[] out) {
        if (closed) {
            throw new IllegalStateException("denoiser is closed");
        }
        if (cancellation.isCancelled()) {
            throw new CancelledException("generation cancelled");
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new CancelledException("generation interrupted");
        }
        int leaf = tree.indexOf(sigma);
        Expert expert = tree.expert(leaf);
        evaluations.add(new RoutedEvaluation(sigma, expert.name()));
        lastExpert = expert.name();
        int k = branches.size();
        int n = shape.size();
        if (!activeScales(sigma)) {
            call(leaf, k - 1, x, sigma, out);
            return;
        }
        if (batched) {
            for (int b = 0; b < k; b++) {
                System.arraycopy(x, 0, xs, b * n, n);
            }
            call(leaf, k, xs, sigma, outs);
        } else {
            for (int b = 0; b < k; b++) {
                call(leaf, b, x, sigma, out);
                System.arraycopy(out, 0, outs, b * n, n);
            }
        }
        combine(out, guidance.interval().contains(sigma));
    }

    /** Fills {@link #active} for {@code sigma}; false when every scale in effect is 1 (one branch suffices). */
    private boolean activeScales(double sigma) {
        boolean inside = guidance.interval().contains(sigma);
        boolean any = false;
        for (int i = 0; i < scales.length; i++) {
            active[i] = i < intervalScales && !inside ? 1.0 : scales[i];
            any |= active[i] != 1.0;
        }
        return any;
    }

    private void combine(double[] out, boolean rescaleHere) {
        int k = branches.size();
        int n = shape.size();
        for (int j = 0; j < n; j++) {
            double d = outs[j];
            for (int b = 1; b < k; b++) {
                d += active[b - 1] * (outs[b * n + j] - outs[(b - 1) * n + j]);
            }
            out[j] = d;
        }
        if (guidance.rescale() > 0 && rescaleHere) {
            rescale(out, (k - 1) * n);
        }
    }

    /** Pulls each sample's std of the guided estimate towards the fully conditioned one's (Lin et al. 2023). */
    private void rescale(double[] out, int condOffset) {
        int d = shape.sampleSize();
        double phi = guidance.rescale();
        for (int b = 0; b < shape.batch(); b++) {
            int o = b * d;
            double stdCond = std(outs, condOffset + o, d);
            double stdGuided = std(out, o, d);
            if (stdGuided == 0) {
                continue;
            }
            double factor = phi * (stdCond / stdGuided) + (1 - phi);
            for (int j = o; j < o + d; j++) {
                out[j] *= factor;
            }
        }
    }

    private static double std(double[] a, int from, int len) {
        double mean = 0;
        for (int i = from; i < from + len; i++) {
            mean += a[i];
        }
        mean /= len;
        double var = 0;
        for (int i = from; i < from + len; i++) {
            double t = a[i] - mean;
            var += t * t;
        }
        return Math.sqrt(var / len);
    }

    private void call(int leaf, int slot, double[] in, double sigma, double[] result) {
        Expert.Session s = sessions[leaf][slot];
        if (s == null) {
            Expert e = tree.expert(leaf);
            if (slot == branches.size() && batchedConditioning == null) {
                batchedConditioning = Conditioning.concatBatch(branches.toArray(Conditioning[]::new));
            }
            s = slot == branches.size()
                    ? e.open(shape.withBatch(branches.size() * shape.batch()), batchedConditioning)
                    : e.open(shape, branches.get(slot));
            sessions[leaf][slot] = s;
        }
        long t0 = System.nanoTime();
        running = s;
        try {
            s.denoise(in, sigma, result);
        } finally {
            running = null;
            modelNanos += System.nanoTime() - t0;
        }
        if (cancellation.isCancelled()) {
            throw new CancelledException("generation cancelled");
        }
    }

    /** Closes every session opened and gives the working arrays back. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        workspace.give(xs);
        workspace.give(outs);
        RuntimeException first = null;
        for (Expert.Session[] row : sessions) {
            for (Expert.Session s : row) {
                if (s != null) {
                    try {
                        s.close();
                    } catch (RuntimeException e) {
                        if (first == null) {
                            first = e;
                        } else {
                            first.addSuppressed(e);
                        }
                    }
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
