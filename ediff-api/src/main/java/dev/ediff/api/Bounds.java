package dev.ediff.api;

/**
 * The range checks of the API's numeric inputs, so that every refusal reads the same:
 * {@code <field> must be <range>, got <value>}.
 */
final class Bounds {

    private Bounds() {
    }

    /** {@code value} if it is in {@code min..max}; otherwise an error naming the field, the value and the range. */
    static int intIn(String field, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(field + " must be in " + min + ".." + max + ", got " + value);
        }
        return value;
    }

    /** {@code value} if it is finite and in {@code [min, max]}; otherwise an error naming the field, the value and the range. */
    static double finiteIn(String field, double value, double min, double max) {
        if (!Double.isFinite(value) || value < min || value > max) {
            throw new IllegalArgumentException(field + " must be a finite number in [" + plain(min) + ", " + plain(max)
                    + "], got " + value);
        }
        return value;
    }

    private static String plain(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
