package dev.ediff.onnx.bundle;

import dev.ediff.api.ImageEncoder;
import dev.ediff.api.Tensor;
import dev.ediff.onnx.OnnxImageEncoder;

import java.awt.image.BufferedImage;
import java.util.function.Supplier;

/**
 * A bundle's image encoder, opened on the first style image: most generations give none, and the
 * session costs load time and memory. Its file was resolved and checked when the bundle opened;
 * the graph's inputs and outputs are checked when it opens here, and a failure is reported then
 * (and again on every later call). Thread-safe; {@link #close} closes it if it was opened.
 */
final class LazyImageEncoder implements ImageEncoder {

    private final Supplier<OnnxImageEncoder> opener;
    private final int dim;
    private OnnxImageEncoder encoder;
    private boolean closed;

    LazyImageEncoder(Supplier<OnnxImageEncoder> opener, int dim) {
        this.opener = opener;
        this.dim = dim;
    }

    private synchronized OnnxImageEncoder encoder() {
        if (closed) {
            throw new IllegalStateException("the image encoder is closed");
        }
        if (encoder == null) {
            encoder = opener.get();
        }
        return encoder;
    }

    /** True once the session was opened (for tests and diagnostics). */
    synchronized boolean isOpen() {
        return encoder != null;
    }

    @Override
    public Tensor encode(BufferedImage image) {
        return encoder().encode(image);
    }

    /** Zeros of the manifest's {@code dim}, as {@link OnnxImageEncoder#off()}, without opening the model. */
    @Override
    public Tensor off() {
        return Tensor.filled(0, 1, dim);
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (encoder != null) {
            encoder.close();
            encoder = null;
        }
    }
}
