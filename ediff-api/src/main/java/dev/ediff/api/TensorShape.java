package dev.ediff.api;

/**
 * The shape {@code [batch, channels, height, width]} of a batch of image-like samples, stored
 * flattened in row-major order: element {@code (b, c, h, w)} is at {@code ((b*C + c)*H + h)*W + w}.
 *
 * @param batch    number of samples, at least 1
 * @param channels channels per sample, at least 1
 * @param height   rows per sample, at least 1
 * @param width    columns per sample, at least 1
 */
public record TensorShape(int batch, int channels, int height, int width) {

    /**
     * Checks that every dimension is at least 1 and that the whole tensor has at most 2^31-1 elements.
     *
     * @param batch    number of samples, at least 1
     * @param channels channels per sample, at least 1
     * @param height   rows per sample, at least 1
     * @param width    columns per sample, at least 1
     */
    public TensorShape {
        if (batch < 1 || channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("every dimension of a tensor shape must be >= 1, got "
                    + describe(batch, channels, height, width));
        }
        if ((long) batch * channels * height * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor shape " + describe(batch, channels, height, width)
                    + " has more than 2^31-1 elements");
        }
    }

    /**
     * The shape of one sample of {@code channels x height x width}, batch 1.
     *
     * @param channels channels, at least 1
     * @param height   rows, at least 1
     * @param width    columns, at least 1
     * @return the shape
     */
    public static TensorShape of(int channels, int height, int width) {
        return new TensorShape(1, channels, height, width);
    }

    /** {@return number of values in one sample: {@code C*H*W}} */
    public int sampleSize() {
        return channels * height * width;
    }

    /** {@return number of values in the whole batch} */
    public int size() {
        return batch * sampleSize();
    }

    /**
     * The same per-sample shape with another batch size.
     *
     * @param newBatch the batch size, at least 1
     * @return the shape
     */
    public TensorShape withBatch(int newBatch) {
        return new TensorShape(newBatch, channels, height, width);
    }

    /** {@return the shape as a {@code long[]} (the form tensor libraries take)} */
    public long[] toLongArray() {
        return new long[] {batch, channels, height, width};
    }

    @Override
    public String toString() {
        return describe(batch, channels, height, width);
    }

    private static String describe(int b, int c, int h, int w) {
        return "[" + b + ", " + c + ", " + h + ", " + w + "]";
    }
}
