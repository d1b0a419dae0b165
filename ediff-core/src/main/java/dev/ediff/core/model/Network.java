package dev.ediff.core.model;

import dev.ediff.api.Conditioning;
import dev.ediff.api.TensorShape;

/** A raw network {@code F(xIn, cNoise, cond)} as trained, before a {@link Parameterization} makes it a denoiser. */
@FunctionalInterface
public interface Network {

    /** Writes {@code F(xIn, cNoise, cond)} into {@code out}. */
    void apply(double[] xIn, TensorShape shape, double cNoise, Conditioning cond, double[] out);
}
