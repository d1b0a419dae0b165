package dev.ediff.core;

import org.quicktheories.core.Gen;

import java.math.BigDecimal;

import static org.quicktheories.generators.SourceDSL.longs;

/** QuickTheories generators shared by the core property tests. */
public final class Generators {

    private Generators() {
    }

    /**
     * Decimals in [min, max] with {@code scale} digits after the point, uniform on that grid (the
     * bounds included, and shrinking towards {@code min}): a property over "sigma in [0.01, 80]"
     * sees 0.0137, not a denormal or a double one ulp inside the range.
     */
    public static Gen<Double> decimals(double min, double max, int scale) {
        BigDecimal lo = BigDecimal.valueOf(min).setScale(scale, java.math.RoundingMode.CEILING);
        BigDecimal hi = BigDecimal.valueOf(max).setScale(scale, java.math.RoundingMode.FLOOR);
        long units = hi.subtract(lo).movePointRight(scale).longValueExact();
        return longs().between(0, units).map(k -> lo.add(BigDecimal.valueOf(k, scale)).doubleValue());
    }

    /** {@link #decimals(double, double, int)} with two digits after the point. */
    public static Gen<Double> decimals(double min, double max) {
        return decimals(min, max, 2);
    }
}
