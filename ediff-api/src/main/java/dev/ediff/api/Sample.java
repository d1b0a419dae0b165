package dev.ediff.api;

/**
 * One generated sample: its data in {@code [C, H, W]} row-major order, model units (images
 * usually in [-1, 1]), and the seed that reproduces it alone.
 */
public final class Sample {

    private final long seed;
    private final TensorShape shape;
    private final double[] data;

    /**
     * For pipelines: wraps a copy of {@code data}.
     *
     * @param seed  the seed that generates this sample alone
     * @param shape its shape, batch 1
     * @param data  its values, row major
     */
    public Sample(long seed, TensorShape shape, double[] data) {
        if (shape.batch() != 1 || data.length != shape.size()) {
            throw new IllegalArgumentException("a sample has batch 1 and " + shape.size() + " values; got shape "
                    + shape + " and " + data.length + " values");
        }
        this.seed = seed;
        this.shape = shape;
        this.data = data.clone();
    }

    /** {@return the seed that generates this sample alone (batch of one)} */
    public long seed() {
        return seed;
    }

    /** {@return {@code [1, C, H, W]}} */
    public TensorShape shape() {
        return shape;
    }

    /** {@return the values (a copy)} */
    public double[] data() {
        return data.clone();
    }

    /**
     * Value {@code i} of the flattened data.
     *
     * @param i the index
     * @return the value
     */
    public double get(int i) {
        return data[i];
    }
}
