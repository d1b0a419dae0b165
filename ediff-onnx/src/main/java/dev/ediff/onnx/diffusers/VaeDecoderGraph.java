package dev.ediff.onnx.diffusers;

import ai.onnxruntime.TensorInfo;
import dev.ediff.api.EDiffException;

import java.util.List;

/**
 * The VAE decoder of a diffusers folder ({@code latent_sample -> sample}): turns the denoiser's
 * latents {@code z} into pixels in [0, 1] as the pipelines do,
 * {@code clamp(decoder(z / scaling_factor + shift_factor) / 2 + 0.5, 0, 1)}. Owns the graph.
 */
public final class VaeDecoderGraph implements AutoCloseable {

    private final ComponentGraph graph;
    private final DiffusersFolder.VaeScaling scaling;

    private VaeDecoderGraph(ComponentGraph graph, DiffusersFolder.VaeScaling scaling) {
        this.graph = graph;
        this.scaling = scaling;
        TensorInfo in = graph.input("latent_sample", "latents");
        if (!ComponentGraph.isFloat(in) || in.getShape().length != 4) {
            throw new EDiffException(graph.name() + ": 'latent_sample' is " + ComponentGraph.describe(in)
                    + "; expected float32 or float16 [B, C, h, w]");
        }
        long channels = in.getShape()[1];
        if (channels > 0 && channels != scaling.latentChannels()) {
            throw new EDiffException(graph.name() + ": 'latent_sample' has " + channels + " channels, but the VAE config"
                    + " says latent_channels " + scaling.latentChannels());
        }
        graph.output("sample", "decoded image");
    }

    /**
     * Opens {@code vae_decoder/} with the folder's VAE scaling.
     *
     * @param folder  the checked folder
     * @param threads intra-op threads of the session (0: one per physical core)
     * @return the decoder; the caller closes it
     */
    public static VaeDecoderGraph open(DiffusersFolder folder, int threads) {
        return open(folder, GraphSessions.cpu(threads), null);
    }

    /** As {@link #open(DiffusersFolder, int)}, loaded as {@code residency} decides (null: always). */
    static VaeDecoderGraph open(DiffusersFolder folder, GraphSessions threads, dev.ediff.onnx.Residency residency) {
        ComponentGraph g = ComponentGraph.open(folder.model("vae_decoder"), threads, residency,
                dev.ediff.onnx.Residency.Placement.DECODER);
        try {
            return new VaeDecoderGraph(g, folder.vae());
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /**
     * Decodes latents {@code [1, C, h, w]} to pixels {@code [1, 3, H, W]} in [0, 1].
     *
     * @param latents  the denoiser's latents, flattened
     * @param shape    {@code {1, C, h, w}}
     * @param shapeOut receives the output shape (4 entries), if non-null
     * @return the pixels, flattened channel-first
     */
    public float[] decode(double[] latents, long[] shape, long[] shapeOut) {
        float[] z = new float[latents.length];
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) (latents[i] / scaling.scalingFactor() + scaling.shiftFactor());
        }
        java.util.Map<String, long[]> shapes = new java.util.HashMap<>();
        float[] img = graph.run(List.of(new ComponentGraph.Feed("latent_sample", z, shape)), List.of("sample"), shapes)
                .get("sample");
        for (int i = 0; i < img.length; i++) {
            img[i] = Math.min(1f, Math.max(0f, img[i] / 2 + 0.5f));
        }
        if (shapeOut != null) {
            System.arraycopy(shapes.get("sample"), 0, shapeOut, 0, 4);
        }
        return img;
    }

    @Override
    public void close() {
        graph.close();
    }
}
