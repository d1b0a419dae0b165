package dev.ediff.api;

import java.util.Objects;

/**
 * An expert that wraps another and forwards everything to it: {@link #name}, {@link #maxBatch},
 * and {@link #open}, whose session runs on the wrapped expert's own session (one per sampling
 * run, not one per call) and forwards {@link Expert.Session#abort} (cancellation) and
 * {@link Expert.Session#close}. Override {@link #denoise(Expert.Session, TensorShape, Conditioning,
 * double[], double, double[])} to change what an evaluation returns.
 *
 * <pre>{@code
 * Expert damped = new ForwardingExpert(bundledExpert) {
 *     protected void denoise(Expert.Session inner, TensorShape shape, Conditioning cond,
 *                            double[] x, double sigma, double[] out) {
 *         inner.denoise(x, sigma, out);
 *         for (int i = 0; i < out.length; i++) out[i] *= 0.9;
 *     }
 * };
 * }</pre>
 *
 * <p>A plain lambda around another expert would instead open that expert afresh on every call
 * (for an ONNX expert: new buffers and tensors per evaluation) and could not be cancelled
 * mid-evaluation.
 */
public abstract class ForwardingExpert implements Expert {

    private final Expert delegate;

    /**
     * Wraps {@code delegate}.
     *
     * @param delegate the expert calls are forwarded to
     */
    protected ForwardingExpert(Expert delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * The wrapped expert.
     *
     * @return the expert given to the constructor
     */
    protected Expert delegate() {
        return delegate;
    }

    /**
     * One evaluation: the default forwards it unchanged to the wrapped expert's session.
     *
     * @param inner the wrapped expert's session for this sampling run
     * @param shape the shape of {@code x} and {@code out}
     * @param cond  the conditioning the session was opened with
     * @param x     the noisy batch; must not be modified
     * @param sigma the noise level
     * @param out   receives the clean-data estimate
     */
    protected void denoise(Expert.Session inner, TensorShape shape, Conditioning cond, double[] x, double sigma,
                           double[] out) {
        inner.denoise(x, sigma, out);
    }

    /** One evaluation through a session opened for it (see {@link #open}). */
    @Override
    public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
        try (Session s = open(shape, cond)) {
            s.denoise(x, sigma, out);
        }
    }

    /** The wrapped expert's name, unless overridden. */
    @Override
    public String name() {
        return delegate.name();
    }

    /** The wrapped expert's batch limit. */
    @Override
    public int maxBatch() {
        return delegate.maxBatch();
    }

    /**
     * Opens the wrapped expert once for the sampling run; the returned session sends each
     * evaluation through {@link #denoise(Expert.Session, TensorShape, Conditioning, double[], double, double[])}
     * and forwards abort and close.
     */
    @Override
    public Session open(TensorShape shape, Conditioning cond) {
        Session inner = delegate.open(shape, cond);
        return new Session() {
            @Override
            public void denoise(double[] x, double sigma, double[] out) {
                ForwardingExpert.this.denoise(inner, shape, cond, x, sigma, out);
            }

            @Override
            public void abort() {
                inner.abort();
            }

            @Override
            public void close() {
                inner.close();
            }
        };
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + delegate + "]";
    }
}
