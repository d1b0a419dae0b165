package dev.ediff.onnx.diffusers;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import dev.ediff.api.EDiffException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The UNet ({@code sample, timestep, encoder_hidden_states[, text_embeds, time_ids] -> out_sample})
 * or SD3 transformer ({@code hidden_states, encoder_hidden_states, pooled_projections, timestep ->
 * out_hidden_states}) of a diffusers folder, fed in the form its graph declares. Owns the graph.
 */
public final class DenoiserGraph implements AutoCloseable {

    /** How the graph takes the timestep. */
    public enum TimestepForm {
        /** int64 {@code [B]} (optimum's exports): fractional timesteps are truncated, as numpy's astype does. */
        INT64_VECTOR,
        /** float32 (or float16) {@code [B]}. */
        FLOAT_VECTOR,
        /** A float32 (or float16) scalar shared by the batch. */
        FLOAT_SCALAR
    }

    private final ComponentGraph graph;
    private final boolean transformer;
    private final String xInput;
    private final String output;
    private final TimestepForm timestepForm;
    private final boolean half;
    private final boolean added;
    private final String biasInput;
    private final String sigmaInput;

    private DenoiserGraph(ComponentGraph graph, boolean transformer) {
        this(graph, transformer, null, null);
    }

    private DenoiserGraph(ComponentGraph graph, boolean transformer, String biasInput, String sigmaInput) {
        this.graph = graph;
        this.transformer = transformer;
        this.xInput = transformer ? "hidden_states" : "sample";
        this.output = transformer ? "out_hidden_states" : "out_sample";
        TensorInfo x = graph.input(xInput, "noisy latents");
        requireFloat(x, xInput, 4);
        requireFloat(graph.input("encoder_hidden_states", "text embeddings"), "encoder_hidden_states", 3);
        requireFloat(graph.output(output, "prediction"), output, 4);
        TensorInfo t = graph.input("timestep", "timestep");
        if (t.getShape().length > 1 || (t.type != OnnxJavaType.INT64 && !ComponentGraph.isFloat(t))) {
            throw new EDiffException(graph.name() + ": input 'timestep' is " + ComponentGraph.describe(t)
                    + "; expected int64 [B], float32/float16 [B] or a float scalar");
        }
        if (t.getShape().length == 0 && t.type == OnnxJavaType.INT64) {
            throw new EDiffException(graph.name() + ": input 'timestep' is an int64 scalar; expected int64 [B], float32 [B]"
                    + " or a float32 scalar");
        }
        this.half = t.type == OnnxJavaType.FLOAT16;
        this.timestepForm = t.getShape().length == 0 ? TimestepForm.FLOAT_SCALAR
                : t.type == OnnxJavaType.INT64 ? TimestepForm.INT64_VECTOR : TimestepForm.FLOAT_VECTOR;
        if (transformer) {
            requireFloat(graph.input("pooled_projections", "pooled text embedding"), "pooled_projections", 2);
            this.added = false;
        } else {
            this.added = graph.inputs().containsKey("text_embeds") || graph.inputs().containsKey("time_ids");
            if (added) {
                requireFloat(graph.input("text_embeds", "pooled text embedding"), "text_embeds", 2);
                requireFloat(graph.input("time_ids", "SDXL time ids"), "time_ids", 2);
            }
        }
        this.biasInput = biasInput;
        this.sigmaInput = sigmaInput;
        if (biasInput != null) {
            requireFloat(graph.input(biasInput, "attention bias"), biasInput, 3);
            requireFloat(graph.input(sigmaInput, "noise level"), sigmaInput, 1);
        }
        for (String in : graph.inputs().keySet()) {
            if (biasInput != null && (in.equals(biasInput) || in.equals(sigmaInput))) {
                continue;
            }
            if (!List.of(xInput, "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "pooled_projections").contains(in)) {
                throw new EDiffException(graph.name() + ": unexpected input '" + in + "'; a diffusers "
                        + (transformer ? "SD3 transformer" : "UNet") + " takes " + xInput + ", timestep, encoder_hidden_states"
                        + (transformer ? ", pooled_projections" : " (and SDXL's text_embeds, time_ids)"));
            }
        }
    }

    /**
     * Opens the folder's denoiser ({@code unet/} or {@code transformer/}) and checks its signature.
     *
     * @param folder  the checked folder
     * @param threads intra-op threads of the session (0: one per physical core)
     * @return the graph adapter; the caller closes it
     */
    public static DenoiserGraph open(DiffusersFolder folder, int threads) {
        return open(folder, GraphSessions.cpu(threads), null, null);
    }

    /** As {@link #open(DiffusersFolder, int)}, loaded as {@code residency} decides (null: always). */
    static DenoiserGraph open(DiffusersFolder folder, GraphSessions threads, dev.ediff.onnx.Residency residency,
                              dev.ediff.onnx.Residency.Placement placement) {
        ComponentGraph g = ComponentGraph.open(folder.model(folder.family().denoiser()), threads, residency, placement);
        try {
            return new DenoiserGraph(g, folder.family() == DiffusersFamily.SD3);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /**
     * Opens a denoiser rewritten for paint-with-words ({@code dev.ediff.onnx.rewrite}): the original
     * inputs plus the attention bias and sigma.
     *
     * @param rewritten the rewritten model file
     * @param family    the folder's family
     * @param bias      name of the bias input
     * @param sigma     name of the sigma input
     * @param threads   the pipeline's sessions (provider, threads)
     * @param residency when the graph is loaded (null: always)
     * @param placement where it sits in a generation (with a residency)
     * @return the graph adapter; the caller closes it
     */
    static DenoiserGraph openRewritten(java.nio.file.Path rewritten, DiffusersFamily family, String bias, String sigma,
                                       GraphSessions threads, dev.ediff.onnx.Residency residency,
                                       dev.ediff.onnx.Residency.Placement placement) {
        ComponentGraph g = ComponentGraph.open(rewritten, threads, residency, placement);
        try {
            return new DenoiserGraph(g, family == DiffusersFamily.SD3, bias, sigma);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** @return the timestep form read from the graph */
    public TimestepForm timestepForm() {
        return timestepForm;
    }

    /** @return whether the graph takes SDXL's added conditioning ({@code text_embeds}, {@code time_ids}) */
    public boolean takesAddedConditioning() {
        return added;
    }

    /**
     * The timestep value the graph actually receives for {@code t} (int64 graphs truncate, float16 rounds).
     *
     * @param t a scheduler timestep
     * @return the value after the graph's input conversion
     */
    public double fedTimestep(double t) {
        if (timestepForm == TimestepForm.INT64_VECTOR) {
            return (double) (long) t;
        }
        return half ? ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat(
                ai.onnxruntime.platform.Fp16Conversions.floatToFp16((float) t)) : (float) t;
    }

    /**
     * Runs one evaluation on a batch.
     *
     * @param x        model input {@code [batch, C, H, W]} flattened (already scaled as the scheduler scales it)
     * @param shape    {@code {batch, C, H, W}}
     * @param timestep the scheduler's timestep for every batch row
     * @param e        text embeddings with one branch per batch row ({@code batch} must be 1 or 2; with
     *                 1, the positive branch is used)
     * @param timeIds  SDXL time ids for the same rows ({@link DiffusersPromptEncoder#timeIds}), or null
     * @return the prediction, same shape as {@code x}
     */
    public float[] predict(float[] x, long[] shape, double timestep, DiffusersPromptEncoder.Embeddings e, float[] timeIds) {
        int batch = (int) shape[0];
        if (batch != 1 && batch != 2) {
            throw new IllegalArgumentException("batch must be 1 (positive) or 2 (negative, positive), got " + batch);
        }
        long declared = graph.inputs().get("encoder_hidden_states").getShape()[2];
        if (declared > 0 && declared != e.width()) {
            throw new EDiffException(graph.name() + ": 'encoder_hidden_states' is " + declared + " wide, but the text"
                    + " embeddings are " + e.width() + " wide; expected the text encoders exported with this denoiser");
        }
        int rowTokens = e.sequence() * e.width();
        float[] tokens = rows(e.tokens(), rowTokens, batch);
        float[] pooled = transformer || added ? rows(e.pooled(), e.pooledWidth(), batch) : null;
        if (added && (timeIds == null || e.pooledWidth() == 0)) {
            throw new IllegalArgumentException(graph.name() + " takes text_embeds and time_ids; give SDXL embeddings and time ids");
        }
        float[] ids = added ? rows(timeIds, timeIds.length / 2, batch) : null;
        return predictRows(x, shape, timestep, tokens, e.sequence(), e.width(), pooled, ids);
    }

    /**
     * Runs one evaluation with every row's conditioning given: {@code tokens} {@code [B, sequence,
     * width]}, {@code pooled} {@code [B, P]} (SDXL's text_embeds, SD3's pooled projections; null
     * for SD 1.x/2.x) and {@code timeIds} {@code [B, K]} (SDXL; else null), all flattened.
     */
    float[] predictRows(float[] x, long[] shape, double timestep, float[] tokens, int sequence, int width, float[] pooled,
                        float[] timeIds) {
        return predictRows(x, shape, timestep, tokens, sequence, width, pooled, timeIds, null, 0);
    }

    /**
     * As {@link #predictRows(float[], long[], double, float[], int, int, float[], float[])} on a
     * rewritten graph, also feeding the attention bias {@code [B, H*W, sequence]} (flattened; null
     * on a graph that was not rewritten) and the SDK's noise level {@code sigma}.
     */
    float[] predictRows(float[] x, long[] shape, double timestep, float[] tokens, int sequence, int width, float[] pooled,
                        float[] timeIds, float[] bias, double sigma) {
        int batch = (int) shape[0];
        List<ComponentGraph.Feed> feeds = new ArrayList<>();
        if (bias != null) {
            if (biasInput == null) {
                throw new IllegalStateException(graph.name() + " was not rewritten for an attention bias");
            }
            feeds.add(new ComponentGraph.Feed(biasInput, bias, new long[] {batch, shape[2] * shape[3], sequence}));
            feeds.add(new ComponentGraph.Feed(sigmaInput, filledF(batch, (float) sigma), new long[] {batch}));
        } else if (biasInput != null) {
            throw new IllegalStateException(graph.name() + " is rewritten: feed it an attention bias");
        }
        feeds.add(new ComponentGraph.Feed(xInput, x, shape));
        feeds.add(new ComponentGraph.Feed("encoder_hidden_states", tokens, new long[] {batch, sequence, width}));
        feeds.add(switch (timestepForm) {
            case INT64_VECTOR -> new ComponentGraph.Feed("timestep", filled(batch, (long) timestep), new long[] {batch});
            case FLOAT_VECTOR -> new ComponentGraph.Feed("timestep", filledF(batch, (float) timestep), new long[] {batch});
            case FLOAT_SCALAR -> new ComponentGraph.Feed("timestep", new float[] {(float) timestep}, new long[0]);
        });
        if (transformer) {
            feeds.add(new ComponentGraph.Feed("pooled_projections", pooled, new long[] {batch, pooled.length / batch}));
        } else if (added) {
            feeds.add(new ComponentGraph.Feed("text_embeds", pooled, new long[] {batch, pooled.length / batch}));
            feeds.add(new ComponentGraph.Feed("time_ids", timeIds, new long[] {batch, timeIds.length / batch}));
        }
        Map<String, float[]> out = graph.run(feeds, List.of(output), null);
        return out.get(output);
    }

    /** Both branches for batch 2; the positive (second) row for batch 1. */
    private static float[] rows(float[] both, int row, int batch) {
        if (batch == 2) {
            return both;
        }
        float[] one = new float[row];
        System.arraycopy(both, row, one, 0, row);
        return one;
    }

    private static long[] filled(int n, long v) {
        long[] a = new long[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static float[] filledF(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private void requireFloat(TensorInfo info, String name, int rank) {
        if (!ComponentGraph.isFloat(info) || info.getShape().length != rank) {
            throw new EDiffException(graph.name() + ": '" + name + "' is " + ComponentGraph.describe(info)
                    + "; expected float32 or float16 of rank " + rank);
        }
    }

    @Override
    public void close() {
        graph.close();
    }
}
