package dev.ediff.onnx.diffusers;

import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.core.model.Parameterization;
import dev.ediff.core.model.Preconditioning;
import dev.ediff.onnx.rewrite.AttentionBiasRewrite;
import dev.ediff.onnx.rewrite.RewrittenModel;

import java.nio.file.Path;

/**
 * A diffusers UNet or SD3 transformer as an {@link Expert}: {@code D(x; sigma) = cSkip x + cOut
 * F(cIn x, timestep)} with the parameterization of the folder's scheduler (VP eps or v, flow
 * velocity), conditioned on the tensors its {@link DiffusersTextEncoder}s wrote under its prefix.
 * SDXL's {@code time_ids} are built here from the sample size (original = target size, no crop;
 * the refiner's fifth value is the aesthetic score of each row). Does not own the graph.
 *
 * <p>Paint-with-words: conditioning with an {@link Conditioning#ATTENTION_BIAS} runs a copy of the
 * graph rewritten by {@link AttentionBiasRewrite} (made in the cache folder on the first painted
 * evaluation, then opened once and owned here); conditioning without one runs the original graph,
 * so unpainted requests are unchanged and pay nothing. A graph the rewrite refuses (SD3's joint
 * attention) makes painted requests fail with the reason.
 */
final class DiffusersExpert implements Expert, AutoCloseable {

    private final String name;
    private final DenoiserGraph net;
    private final Parameterization parameterization;
    private final DiffusersFamily family;
    private final String prefix;
    private final int pixelsPerLatent;
    private final Path denoiserFile;
    private final Path rewriteCache;
    private final int biasOffset;
    private final GraphSessions threads;
    private final dev.ediff.onnx.Residency residency;
    private final dev.ediff.onnx.Residency.Placement placement;
    private DenoiserGraph painted; // guarded by this
    private RewrittenModel rewritten; // guarded by this
    private boolean closed; // guarded by this

    /**
     * @param denoiserFile the folder's denoiser file (only read, by the rewrite)
     * @param rewriteCache where rewritten graphs are cached
     * @param biasOffset   the first column of this expert's text tokens in the attention bias (the
     *                     pipeline concatenates the tokens of its text encoders: the refiner's follow the base's)
     * @param residency    when the graphs are loaded (null: always); told the noise level before each evaluation
     * @param placement    where this expert sits in a generation
     */
    DiffusersExpert(String name, DenoiserGraph net, Parameterization parameterization, DiffusersFamily family, String prefix,
                    int pixelsPerLatent, Path denoiserFile, Path rewriteCache, int biasOffset, GraphSessions threads,
                    dev.ediff.onnx.Residency residency, dev.ediff.onnx.Residency.Placement placement) {
        this.residency = residency;
        this.placement = placement;
        this.denoiserFile = denoiserFile;
        this.rewriteCache = rewriteCache;
        this.biasOffset = biasOffset;
        this.threads = threads;
        this.name = name;
        this.net = net;
        this.parameterization = parameterization;
        this.family = family;
        this.prefix = prefix;
        this.pixelsPerLatent = pixelsPerLatent;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
        if (residency != null) {
            residency.denoising(placement.stage(), sigma); // releases what this generation has passed
        }
        int batch = shape.batch();
        Tensor tokens = require(cond, prefix + ".tokens");
        int width = (int) tokens.dim(2);
        int sequence = (int) tokens.dim(1);
        float[] states = tokens.toArray();
        if (family == DiffusersFamily.SD3) {
            Tensor t5 = require(cond, prefix + ".t5");
            states = joinSequence(states, sequence, t5.toArray(), (int) t5.dim(1), width, batch);
            sequence += (int) t5.dim(1);
        }
        float[] pooled = family == DiffusersFamily.STABLE_DIFFUSION ? null : require(cond, prefix + ".pooled").toArray();
        float[] timeIds = net.takesAddedConditioning() ? timeIds(shape, cond) : null;
        Preconditioning c = parameterization.at(sigma);
        float[] in = new float[x.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) (c.cIn() * x[i]);
        }
        float[] f;
        java.util.Optional<Tensor> bias = cond.get(Conditioning.ATTENTION_BIAS);
        if (bias.isPresent()) {
            DenoiserGraph g = painted();
            f = g.predictRows(in, shape.toLongArray(), c.cNoise(), states, sequence, width, pooled, timeIds,
                    columns(bias.get(), shape, sequence), sigma);
        } else {
            f = net.predictRows(in, shape.toLongArray(), c.cNoise(), states, sequence, width, pooled, timeIds);
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = c.cSkip() * x[i] + c.cOut() * f[i];
        }
    }

    /** The rewritten graph, made and opened on first use. */
    private synchronized DenoiserGraph painted() {
        if (closed) {
            throw new IllegalStateException("expert '" + name + "' is closed");
        }
        if (painted == null) {
            RewrittenModel r;
            try {
                r = AttentionBiasRewrite.defaults().ensure(denoiserFile, rewriteCache);
            } catch (EDiffException e) {
                throw new EDiffException("cannot paint words on " + name + ": " + e.getMessage(), e);
            }
            painted = DenoiserGraph.openRewritten(r.path(), family, r.biasInput(), r.sigmaInput(), threads, residency,
                    placement);
            rewritten = r;
        }
        return painted;
    }

    /** The rewrite in use, or null before the first painted evaluation (for tests). */
    synchronized RewrittenModel rewritten() {
        return rewritten;
    }

    /** This expert's {@code sequence} token columns of the pipeline's bias {@code [B, H*W, T]}. */
    private float[] columns(Tensor bias, TensorShape shape, int sequence) {
        int positions = shape.height() * shape.width();
        int total = bias.rank() == 3 ? (int) bias.dim(2) : -1;
        if (bias.rank() != 3 || bias.dim(0) != shape.batch() || bias.dim(1) != positions || total < biasOffset + sequence) {
            throw new IllegalArgumentException("expert '" + name + "': attention bias " + java.util.Arrays.toString(bias.shape())
                    + " does not fit; expected [" + shape.batch() + ", " + positions + ", >= " + (biasOffset + sequence) + "]");
        }
        float[] all = bias.toArray();
        if (biasOffset == 0 && total == sequence) {
            return all;
        }
        float[] out = new float[shape.batch() * positions * sequence];
        for (int row = 0; row < shape.batch() * positions; row++) {
            System.arraycopy(all, row * total + biasOffset, out, row * sequence, sequence);
        }
        return out;
    }

    /** Closes the rewritten graph if one was opened (the original belongs to the pipeline). */
    @Override
    public synchronized void close() {
        closed = true;
        if (painted != null) {
            painted.close();
            painted = null;
        }
    }

    private float[] timeIds(TensorShape shape, Conditioning cond) {
        int h = shape.height() * pixelsPerLatent;
        int w = shape.width() * pixelsPerLatent;
        int batch = shape.batch();
        if (family == DiffusersFamily.SDXL_REFINER) {
            Tensor a = require(cond, prefix + ".aesthetic");
            float[] ids = new float[batch * 5];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(new float[] {h, w, 0, 0, a.get(b)}, 0, ids, b * 5, 5);
            }
            return ids;
        }
        float[] ids = new float[batch * 6];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(new float[] {h, w, 0, 0, h, w}, 0, ids, b * 6, 6);
        }
        return ids;
    }

    /** Per row: the CLIP states followed by the T5 states along the sequence. */
    private static float[] joinSequence(float[] a, int seqA, float[] b, int seqB, int width, int batch) {
        float[] out = new float[batch * (seqA + seqB) * width];
        int rowA = seqA * width;
        int rowB = seqB * width;
        for (int r = 0; r < batch; r++) {
            System.arraycopy(a, r * rowA, out, r * (rowA + rowB), rowA);
            System.arraycopy(b, r * rowB, out, r * (rowA + rowB) + rowA, rowB);
        }
        return out;
    }

    private Tensor require(Conditioning cond, String role) {
        return cond.get(role).orElseThrow(() -> new IllegalArgumentException("expert '" + name + "' needs conditioning '"
                + role + "' (from the folder's text encoders); got " + cond.roles()
                + " - set no explicit conditioning on the request, or give these roles"));
    }

    @Override
    public String toString() {
        return "DiffusersExpert[" + name + "]";
    }
}
