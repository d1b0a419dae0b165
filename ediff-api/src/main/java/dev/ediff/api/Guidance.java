package dev.ediff.api;

/**
 * Classifier-free guidance: {@code D = D_u + scale (D_c - D_u)}, optionally rescaled (Lin et al.
 * 2023: the guided estimate's per-sample standard deviation is pulled towards the conditional one's
 * by {@code rescale} in [0, 1]) and applied only while sigma is inside {@code interval}
 * (Kynkaanniemi et al. 2024; outside it the conditional estimate alone is used, one branch, no
 * extra cost). The interval limits this text guidance only: style guidance
 * ({@link Request.Builder#style(java.awt.image.BufferedImage, double)}) applies at every noise level.
 * Immutable.
 *
 * @param scale    the guidance scale, finite and in [0, {@link #MAX_SCALE}]; 1 means no guidance (one branch)
 * @param rescale  guidance rescale factor in [0, 1]; 0 disables it
 * @param interval the noise levels where guidance applies
 */
public record Guidance(double scale, double rescale, NoiseInterval interval) {

    /**
     * The largest guidance scale: 100. Useful scales are about 1 to 20; far beyond, the guided
     * estimate {@code D_u + g (D_c - D_u)} is dominated by the amplified branch difference and the
     * sample saturates, and at scales like 1e308 it overflows to infinity.
     */
    public static final double MAX_SCALE = 100;

    /** No guidance: the conditional estimate only. */
    public static final Guidance NONE = new Guidance(1.0, 0.0, NoiseInterval.all());

    /**
     * Checks the scale, the rescale factor and the interval (one-line errors naming the bad value).
     *
     * @param scale    the guidance scale, finite and {@code >= 0}; 1 means no guidance (one branch)
     * @param rescale  guidance rescale factor in [0, 1]; 0 disables it
     * @param interval the noise levels where guidance applies
     */
    public Guidance {
        Bounds.finiteIn("guidance scale", scale, 0, MAX_SCALE);
        Bounds.finiteIn("guidance rescale", rescale, 0, 1);
        if (interval == null) {
            throw new IllegalArgumentException("guidance interval must not be null (use NoiseInterval.all())");
        }
    }

    /**
     * Guidance with {@code scale}, no rescale, at every noise level.
     *
     * @param scale the guidance scale, finite and in [0, {@link #MAX_SCALE}]
     * @return the guidance
     * @throws IllegalArgumentException naming the value and the range when it is outside
     */
    public static Guidance of(double scale) {
        return new Guidance(scale, 0.0, NoiseInterval.all());
    }

    /**
     * This guidance with a rescale factor.
     *
     * @param phi the rescale factor in [0, 1]
     * @return a new guidance
     */
    public Guidance withRescale(double phi) {
        return new Guidance(scale, phi, interval);
    }

    /**
     * This guidance applied only within {@code sigmas}.
     *
     * @param sigmas the noise levels where guidance applies
     * @return a new guidance
     */
    public Guidance limitedTo(NoiseInterval sigmas) {
        return new Guidance(scale, rescale, sigmas);
    }

    /**
     * Whether, at {@code sigma}, the unconditional branch must be evaluated.
     *
     * @param sigma the noise level
     * @return true when guidance is on there
     */
    public boolean activeAt(double sigma) {
        return scale != 1.0 && interval.contains(sigma);
    }
}
