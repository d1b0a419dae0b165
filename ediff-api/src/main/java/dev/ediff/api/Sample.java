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

    /**
     * The sample as an 8-bit image: 3 channels give RGB, 1 gives grey; [-1, 1] maps to [0, 255]
     * (rounded, clamped).
     *
     * @return a new image
     * @throws IllegalArgumentException for a sample with other than 1 or 3 channels
     */
    public java.awt.image.BufferedImage toImage() {
        int c = shape.channels();
        int h = shape.height();
        int w = shape.width();
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("only 1- or 3-channel samples convert to images, got " + c + " channels");
        }
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(w, h,
                c == 3 ? java.awt.image.BufferedImage.TYPE_INT_RGB : java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                if (c == 3) {
                    img.setRGB(x, y, (toByte(data[i]) << 16) | (toByte(data[plane + i]) << 8) | toByte(data[2 * plane + i]));
                } else {
                    img.getRaster().setSample(x, y, 0, toByte(data[i]));
                }
            }
        }
        return img;
    }

    private static int toByte(double v) {
        long r = Math.round((v + 1) * 127.5);
        return (int) Math.max(0, Math.min(255, r));
    }
}
