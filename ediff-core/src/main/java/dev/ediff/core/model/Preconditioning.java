package dev.ediff.core.model;

/**
 * The coefficients that turn a network {@code F} into a denoiser at one sigma:
 * {@code D(x; sigma) = cSkip x + cOut F(cIn x, cNoise)}.
 */
public record Preconditioning(double cSkip, double cOut, double cIn, double cNoise) {
}
