package dev.ediff.api;

/**
 * A half-open interval of noise levels {@code [lo, hi)}; {@code hi} may be
 * {@link Double#POSITIVE_INFINITY}. An evaluation exactly at {@code lo} belongs here; one exactly at
 * {@code hi} belongs to the interval above.
 *
 * @param lo lower bound, included, {@code >= 0}
 * @param hi upper bound, excluded, {@code > lo}
 */
public record NoiseInterval(double lo, double hi) {

    public NoiseInterval {
        if (!(lo >= 0) || Double.isInfinite(lo)) {
            throw new IllegalArgumentException("noise interval lower bound must be finite and >= 0, got " + lo);
        }
        if (!(hi > lo)) {
            throw new IllegalArgumentException("noise interval [" + lo + ", " + hi + ") is empty: hi must be > lo");
        }
    }

    /** {@code [lo, hi)}. */
    public static NoiseInterval of(double lo, double hi) {
        return new NoiseInterval(lo, hi);
    }

    /** {@code [lo, +inf)}. */
    public static NoiseInterval atLeast(double lo) {
        return new NoiseInterval(lo, Double.POSITIVE_INFINITY);
    }

    /** {@code [0, hi)}. */
    public static NoiseInterval below(double hi) {
        return new NoiseInterval(0.0, hi);
    }

    /** Every noise level. */
    public static NoiseInterval all() {
        return new NoiseInterval(0.0, Double.POSITIVE_INFINITY);
    }

    /** True when {@code lo <= sigma < hi}. */
    public boolean contains(double sigma) {
        return lo <= sigma && sigma < hi;
    }

    /** True when the upper bound is infinite. */
    public boolean isUnbounded() {
        return hi == Double.POSITIVE_INFINITY;
    }

    @Override
    public String toString() {
        return "[" + lo + ", " + (isUnbounded() ? "inf" : Double.toString(hi)) + ")";
    }
}
