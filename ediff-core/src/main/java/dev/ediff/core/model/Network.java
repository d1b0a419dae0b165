package dev.ediff.core.model;

import dev.ediff.api.Conditioning;
import dev.ediff.api.TensorShape;

/** A raw network {@code F(xIn, cNoise, cond)} as trained, before a {@link Parameterization} makes it a denoiser. */
@FunctionalInterface
public interface Network {

    /**
     * Writes {@code F(xIn, cNoise, cond)} into {@code out}.
     *
     * @param xIn    the scaled input {@code cIn * x}
     * @param shape  its shape
     * @param cNoise the noise conditioning
     * @param cond   the conditioning
     * @param out    receives the network output, same length as {@code xIn}
     */
    void apply(double[] xIn, TensorShape shape, double cNoise, Conditioning cond, double[] out);
}
