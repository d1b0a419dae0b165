package dev.ediff.api;

/**
 * {@code D(x; sigma)} as a sampler sees it: conditioning, guidance and expert routing already
 * applied. Samplers call nothing else to reach the model.
 */
@FunctionalInterface
public interface Denoiser {

    /**
     * Writes the clean-data estimate for the batch {@code x} at noise level {@code sigma} into {@code out}.
     *
     * @param x     the noisy batch, row major
     * @param sigma the noise level
     * @param out   receives {@code D(x; sigma)}, same length as {@code x}
     */
    void denoise(double[] x, double sigma, double[] out);
}
