package dev.ediff.api;

/**
 * One generated sample: its data in {@code [C, H, W]} row-major order, model units (images
 * usually in [-1, 1]), and the seed that reproduces it alone.
 */
public final class Sample {

    private final long seed;
    private final TensorShape shape;
    private final double[] data;

    /** For pipelines: wraps a copy of {@code data}. */
    public Sample(long seed, TensorShape shape, double[] data) {
        if (shape.batch() != 1 || data.length != shape.size()) {
            throw new IllegalArgumentException("a sample has batch 1 and " + shape.size() + " values; got shape "
                    + shape + " and " + data.length + " values");
        }
        this.seed = seed;
        this.shape = shape;
        this.data = data.clone();
    }

    /** The seed that generates this sample alone (batch of one). */
    public long seed() {
        return seed;
    }

    /** {@code [1, C, H, W]}. */
    public TensorShape shape() {
        return shape;
    }

    /** The values (a copy). */
    public double[] data() {
        return data.clone();
    }

    /** Value {@code i} of the flattened data. */
    public double get(int i) {
        return data[i];
    }
}
