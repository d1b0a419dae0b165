package dev.ediff.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.ediff.api.EDiffException;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.Tensor;
import dev.ediff.core.image.Images;
import dev.ediff.onnx.internal.SessionOpener;

import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A style image encoder (eDiff-I: CLIP's image tower) as an ONNX model. Preprocessing is done in
 * Java: the shorter side is resized to {@link Config#size} (antialiased bicubic), the centre square
 * is cropped, and each channel is normalised as {@code (v - mean) / std} with v in [0, 1]. Owns its session.
 */
public final class OnnxImageEncoder implements ImageEncoder {

    /**
     * @param input  the pixel input, {@code float32 [B, 3, size, size]}
     * @param output the embedding output, {@code float32 [B, dim]}
     * @param size   the square input size
     * @param mean   per-channel mean (R, G, B) of pixel values in [0, 1]
     * @param std    per-channel standard deviation
     * @param dim    the embedding width
     */
    public record Config(String input, String output, int size, double[] mean, double[] std, int dim) {
        /**
         * Copies the mean and std and checks that each has 3 values.
         *
         * @param input  the pixel input, {@code float32 [B, 3, size, size]}
         * @param output the embedding output, {@code float32 [B, dim]}
         * @param size   the square input size
         * @param mean   per-channel mean (R, G, B) of pixel values in [0, 1]
         * @param std    per-channel standard deviation
         * @param dim    the embedding width
         */
        public Config {
            mean = mean.clone();
            std = std.clone();
            if (mean.length != 3 || std.length != 3) {
                throw new IllegalArgumentException("mean and std need 3 values (R, G, B)");
            }
        }
    }

    private static final Set<OnnxJavaType> FLOAT = Set.of(OnnxJavaType.FLOAT);

    private final OnnxModel model;
    private final Config config;

    OnnxImageEncoder(OnnxModel model, Config config) {
        this.model = model;
        this.config = config;
        try {
            long[] in = model.require(true, config.input(), "image pixels", 4, FLOAT);
            long[] expected = {-1, 3, config.size(), config.size()};
            for (int i = 1; i < 4; i++) {
                if (in[i] >= 0 && in[i] != expected[i]) {
                    throw new EDiffException(model.name() + ": input '" + config.input() + "' is "
                            + java.util.Arrays.toString(in) + " but the configuration says [B, 3, " + config.size() + ", "
                            + config.size() + "] (size)");
                }
            }
            long[] out = model.require(false, config.output(), "image embedding", 2, FLOAT);
            if (out[1] >= 0 && out[1] != config.dim()) {
                throw new EDiffException(model.name() + ": output '" + config.output() + "' width is " + out[1]
                        + " but the configuration says dim = " + config.dim());
            }
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Opens the model file.
     *
     * @param modelFile the ONNX file
     * @param config    how to call it
     * @param session   how to run the session
     * @return the encoder; the caller closes it
     */
    public static OnnxImageEncoder open(Path modelFile, Config config, SessionConfig session) {
        return new OnnxImageEncoder(new OnnxModel(modelFile.getFileName().toString(),
                (e, o) -> e.createSession(modelFile.toString(), o), session), config);
    }

    /**
     * Opens a model held in a direct (or mapped) buffer, without a copy on the Java heap.
     *
     * @param name    the encoder's name
     * @param model   the serialized ONNX model, a direct buffer; read from its position to its limit
     *                and kept referenced until the session is made
     * @param config  how to call it
     * @param session how to run the session
     * @return the encoder; the caller closes it
     * @throws IllegalArgumentException if the buffer is not direct
     */
    public static OnnxImageEncoder open(String name, java.nio.ByteBuffer model, Config config, SessionConfig session) {
        return new OnnxImageEncoder(new OnnxModel(name, SessionOpener.fromBuffer(model), session), config);
    }

    /**
     * Opens a model held in memory.
     *
     * @param name       the encoder's name
     * @param modelBytes the serialized ONNX model
     * @param config     how to call it
     * @param session    how to run the session
     * @return the encoder; the caller closes it
     */
    public static OnnxImageEncoder open(String name, byte[] modelBytes, Config config, SessionConfig session) {
        return new OnnxImageEncoder(new OnnxModel(name, (e, o) -> e.createSession(modelBytes, o), session), config);
    }

    /**
     * The preprocessed pixels of {@code image}.
     *
     * @param image the image, any size
     * @return {@code [3, size, size]}, normalised
     */
    public float[] preprocess(BufferedImage image) {
        int s = config.size();
        double[] t = Images.shorterSideCenterCrop(image, s);
        float[] px = new float[t.length];
        int plane = s * s;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                double v01 = (t[c * plane + i] + 1) / 2;
                px[c * plane + i] = (float) ((v01 - config.mean()[c]) / config.std()[c]);
            }
        }
        return px;
    }

    @Override
    public Tensor encode(BufferedImage image) {
        float[] px = preprocess(image);
        int s = config.size();
        try (OnnxTensor in = OnnxTensor.createTensor(model.env(), FloatBuffer.wrap(px), new long[] {1, 3, s, s})) {
            float[] emb = model.run(Map.of(config.input(), in), config.output())[0];
            return Tensor.of(emb, 1, config.dim());
        } catch (OrtException e) {
            throw new EDiffException(model.name() + ": could not make the pixel tensor: " + e.getMessage(), e);
        }
    }

    @Override
    public Tensor off() {
        return Tensor.filled(0, 1, config.dim());
    }

    @Override
    public void close() {
        model.close();
    }
}
