package dev.ediff.onnx.diffusers;

import ai.onnxruntime.TensorInfo;
import dev.ediff.api.EDiffException;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The VAE encoder of a diffusers folder ({@code sample -> latent_parameters}, mean and log-variance
 * as optimum exports it; older exports give {@code latent_sample}): pixels in [0, 1] to the
 * denoiser's latents {@code (mean - shift_factor) * scaling_factor}, the start of image-to-image.
 * Owns the graph.
 */
public final class VaeEncoderGraph implements AutoCloseable {

    private final ComponentGraph graph;
    private final DiffusersFolder.VaeScaling scaling;
    private final String output;

    private VaeEncoderGraph(ComponentGraph graph, DiffusersFolder.VaeScaling scaling) {
        this.graph = graph;
        this.scaling = scaling;
        TensorInfo in = graph.input("sample", "image");
        if (!ComponentGraph.isFloat(in) || in.getShape().length != 4) {
            throw new EDiffException(graph.name() + ": 'sample' is " + ComponentGraph.describe(in) + "; expected float32 or float16 [B, 3, H, W]");
        }
        this.output = graph.firstOutput("latent distribution", "latent_parameters", "latent_sample");
    }

    /**
     * Opens {@code vae_encoder/} with the folder's VAE scaling.
     *
     * @param folder  the checked folder
     * @param threads intra-op threads of the session (0: one per physical core)
     * @return the encoder; the caller closes it
     */
    public static VaeEncoderGraph open(DiffusersFolder folder, int threads) {
        ComponentGraph g = ComponentGraph.open(folder.model("vae_encoder"), threads);
        try {
            return new VaeEncoderGraph(g, folder.vae());
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /**
     * Encodes pixels {@code [1, 3, H, W]} in [0, 1] to latents {@code [1, C, H/8, W/8]}: the mean of
     * the latent distribution (diffusers' "argmax" mode), or {@code mean + exp(logvar / 2) noise} when
     * {@code noise} (unit Gaussian, one value per latent) is given; then shifted and scaled.
     *
     * @param pixels   the image, flattened channel-first, in [0, 1]
     * @param shape    {@code {1, 3, H, W}}
     * @param noise    unit Gaussian noise to sample the distribution, or null for its mean
     * @param shapeOut receives the latent shape (4 entries), if non-null
     * @return the latents, flattened
     */
    public double[] encode(float[] pixels, long[] shape, double[] noise, long[] shapeOut) {
        float[] in = new float[pixels.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = pixels[i] * 2 - 1;
        }
        Map<String, long[]> shapes = new HashMap<>();
        float[] out = graph.run(List.of(new ComponentGraph.Feed("sample", in, shape)), List.of(output), shapes).get(output);
        long[] s = shapes.get(output).clone();
        int channels = scaling.latentChannels();
        boolean distribution = s[1] == 2L * channels;
        if (!distribution && s[1] != channels) {
            throw new EDiffException(graph.name() + ": output '" + output + "' has " + s[1] + " channels; expected "
                    + 2 * channels + " (mean and log-variance) or " + channels + " (latent_channels of the VAE config)");
        }
        int plane = (int) (s[2] * s[3]);
        int n = channels * plane;
        if (noise != null && noise.length != n) {
            throw new IllegalArgumentException("noise has " + noise.length + " values; expected " + n);
        }
        double[] z = new double[n];
        for (int i = 0; i < n; i++) {
            double v = out[i];
            if (distribution && noise != null) {
                double logvar = Math.max(-30, Math.min(20, out[n + i]));
                v += Math.exp(0.5 * logvar) * noise[i];
            }
            z[i] = (v - scaling.shiftFactor()) * scaling.scalingFactor();
        }
        if (shapeOut != null) {
            s[1] = channels;
            System.arraycopy(s, 0, shapeOut, 0, 4);
        }
        return z;
    }

    @Override
    public void close() {
        graph.close();
    }
}
