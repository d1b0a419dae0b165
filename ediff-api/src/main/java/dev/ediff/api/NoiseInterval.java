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

    /**
     * Checks that {@code lo} is finite and {@code >= 0} and that {@code hi > lo}.
     *
     * @param lo lower bound, included, {@code >= 0}
     * @param hi upper bound, excluded, {@code > lo}
     */
    public NoiseInterval {
        if (!(lo >= 0) || Double.isInfinite(lo)) {
            throw new IllegalArgumentException("noise interval lower bound must be finite and >= 0, got " + lo);
        }
        if (!(hi > lo)) {
            throw new IllegalArgumentException("noise interval [" + lo + ", " + hi + ") is empty: hi must be > lo");
        }
    }

    /**
     * {@code [lo, hi)}.
     *
     * @param lo lower bound, included
     * @param hi upper bound, excluded
     * @return the interval
     */
    public static NoiseInterval of(double lo, double hi) {
        return new NoiseInterval(lo, hi);
    }

    /**
     * {@code [lo, +inf)}.
     *
     * @param lo lower bound, included
     * @return the interval
     */
    public static NoiseInterval atLeast(double lo) {
        return new NoiseInterval(lo, Double.POSITIVE_INFINITY);
    }

    /**
     * {@code [0, hi)}.
     *
     * @param hi upper bound, excluded
     * @return the interval
     */
    public static NoiseInterval below(double hi) {
        return new NoiseInterval(0.0, hi);
    }

    /** {@return every noise level} */
    public static NoiseInterval all() {
        return new NoiseInterval(0.0, Double.POSITIVE_INFINITY);
    }

    /**
     * Parses the form {@link #toString()} writes: {@code [lo, hi)}, {@code hi} may be {@code inf}.
     *
     * @param text the interval
     * @return the interval
     * @throws IllegalArgumentException when the text is not of that form or the bounds are invalid
     */
    public static NoiseInterval parse(String text) {
        String t = text.trim();
        int comma = t.indexOf(',');
        if (!t.startsWith("[") || !t.endsWith(")") || comma < 0) {
            throw new IllegalArgumentException("noise interval '" + text + "' must look like [lo, hi) or [lo, inf)");
        }
        try {
            double lo = Double.parseDouble(t.substring(1, comma).trim());
            String h = t.substring(comma + 1, t.length() - 1).trim();
            return new NoiseInterval(lo, h.equals("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(h));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("noise interval '" + text + "' must look like [lo, hi) or [lo, inf)", e);
        }
    }

    /**
     * Whether {@code lo <= sigma < hi}.
     *
     * @param sigma the noise level
     * @return true when the interval holds it
     */
    public boolean contains(double sigma) {
        return lo <= sigma && sigma < hi;
    }

    /** {@return true when the upper bound is infinite} */
    public boolean isUnbounded() {
        return hi == Double.POSITIVE_INFINITY;
    }

    @Override
    public String toString() {
        return "[" + lo + ", " + (isUnbounded() ? "inf" : Double.toString(hi)) + ")";
    }
}
