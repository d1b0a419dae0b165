package dev.ediff.onnx.internal;

import dev.ediff.core.text.Tokenizer;
import dev.ediff.onnx.ExpertContract;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.OnnxImageEncoder;
import dev.ediff.onnx.OnnxTextEncoder;
import dev.ediff.onnx.SessionConfig;

/**
 * The route by which the bundle adapter opens experts and encoders with a model's verified sha256,
 * so that their sessions may use the optimized-graph cache ({@link GraphCache}): the digest is an
 * explicit argument here, while the public {@code open} methods of {@link OnnxExpert},
 * {@link OnnxTextEncoder} and {@link OnnxImageEncoder} take none (a caller outside the SDK has
 * not verified one). {@code dev.ediff.onnx} registers the implementation when its classes are
 * initialised; this package is not exported.
 */
public final class ModelAccess {

    /** Opens the models with a digest; implemented in {@code dev.ediff.onnx}. */
    public interface Factory {
        /**
         * Opens an expert.
         *
         * @param name     the expert's name
         * @param loader   creates its session
         * @param sha256   the model's verified digest, or null (no cache)
         * @param contract the expert's contract
         * @param config   the session configuration
         * @param zero     how calls without the zero input run a copy of the graph, or null (every call runs the graph)
         * @return the expert; the caller closes it
         */
        OnnxExpert expert(String name, SessionOpener.Loader loader, String sha256, ExpertContract contract,
                          SessionConfig config, ZeroInputCopy zero);

        /**
         * Opens a text encoder.
         *
         * @param name      the model's name, for messages
         * @param loader    creates its session
         * @param sha256    the model's verified digest, or null (no cache)
         * @param tokenizer its tokenizer
         * @param config    how to call it
         * @param session   the session configuration
         * @return the encoder; the caller closes it
         */
        OnnxTextEncoder textEncoder(String name, SessionOpener.Loader loader, String sha256, Tokenizer tokenizer,
                                    OnnxTextEncoder.Config config, SessionConfig session);

        /**
         * Opens an image encoder.
         *
         * @param name    the model's name, for messages
         * @param loader  creates its session
         * @param sha256  the model's verified digest, or null (no cache)
         * @param config  how to call it
         * @param session the session configuration
         * @return the encoder; the caller closes it
         */
        OnnxImageEncoder imageEncoder(String name, SessionOpener.Loader loader, String sha256,
                                      OnnxImageEncoder.Config config, SessionConfig session);
    }

    private static volatile Factory factory;

    private ModelAccess() {
    }

    /**
     * Registers the implementation (called once, by {@code dev.ediff.onnx}).
     *
     * @param f the implementation
     */
    public static void register(Factory f) {
        factory = java.util.Objects.requireNonNull(f, "factory");
    }

    /**
     * The implementation, initialising {@code dev.ediff.onnx}'s registering class first if needed.
     *
     * @return the factory
     * @throws IllegalStateException if {@code dev.ediff.onnx} registered none (a packaging error)
     */
    public static Factory get() {
        Factory f = factory;
        if (f == null) {
            try {
                Class.forName("dev.ediff.onnx.BundleModels", true, ModelAccess.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("dev.ediff.onnx.BundleModels is missing from the SDK's classes", e);
            }
            f = factory;
            if (f == null) {
                throw new IllegalStateException("dev.ediff.onnx.BundleModels did not register itself");
            }
        }
        return f;
    }
}
