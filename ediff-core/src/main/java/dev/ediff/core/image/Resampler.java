package dev.ediff.core.image;

/**
 * Separable resampling of {@code [C, H, W]} tensors with a Keys bicubic kernel ({@code a = -0.5}).
 * When shrinking, the kernel is stretched by the scale factor so every source pixel contributes
 * (antialiasing, as PIL does); when enlarging it interpolates. Edges are clamped.
 */
public final class Resampler {

    private Resampler() {
    }

    /**
     * Resizes {@code src} ({@code channels x h x w}, row major) to {@code newH x newW}.
     *
     * @param src      the values
     * @param channels channels
     * @param h        rows
     * @param w        columns
     * @param newH     rows wanted
     * @param newW     columns wanted
     * @return {@code channels x newH x newW} values
     */
    public static double[] resize(double[] src, int channels, int h, int w, int newH, int newW) {
        check(src, channels, h, w, newH, newW);
        double[] out = new double[channels * newH * newW];
        resize(src, channels, h, w, newH, newW, new double[scratchSize(channels, h, newW)], out);
        return out;
    }

    /**
     * The length of the scratch array {@link #resize(double[], int, int, int, int, int, double[], double[])} needs.
     *
     * @param channels channels
     * @param h        rows of the source
     * @param newW     columns wanted
     * @return {@code channels x h x newW}
     */
    public static int scratchSize(int channels, int h, int newW) {
        return Math.multiplyExact(Math.multiplyExact(channels, h), newW);
    }

    /**
     * Resizes {@code src} ({@code channels x h x w}, row major) to {@code newH x newW} into {@code out},
     * the same values {@link #resize(double[], int, int, int, int, int)} returns, without allocating
     * the result or the intermediate rows.
     *
     * @param src      the values
     * @param channels channels
     * @param h        rows
     * @param w        columns
     * @param newH     rows wanted
     * @param newW     columns wanted
     * @param scratch  at least {@link #scratchSize} values, overwritten
     * @param out      {@code channels x newH x newW} values, overwritten
     * @throws IllegalArgumentException if a size does not fit
     */
    public static void resize(double[] src, int channels, int h, int w, int newH, int newW, double[] scratch,
                              double[] out) {
        check(src, channels, h, w, newH, newW);
        if (scratch.length < scratchSize(channels, h, newW) || out.length != channels * newH * newW) {
            throw new IllegalArgumentException("resize to [" + channels + ", " + newH + ", " + newW + "] needs "
                    + scratchSize(channels, h, newW) + " scratch values and " + channels * newH * newW
                    + " output values, got " + scratch.length + " and " + out.length);
        }
        double[] tmp = scratch;
        Weights horizontal = weights(w, newW);
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < h; y++) {
                int row = (c * h + y) * w;
                int outRow = (c * h + y) * newW;
                for (int x = 0; x < newW; x++) {
                    double s = 0;
                    for (int k = 0; k < horizontal.count[x]; k++) {
                        s += horizontal.w[x][k] * src[row + horizontal.first[x] + k];
                    }
                    tmp[outRow + x] = s;
                }
            }
        }
        Weights vertical = weights(h, newH);
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < newH; y++) {
                int outRow = (c * newH + y) * newW;
                for (int x = 0; x < newW; x++) {
                    double s = 0;
                    for (int k = 0; k < vertical.count[y]; k++) {
                        s += vertical.w[y][k] * tmp[(c * h + vertical.first[y] + k) * newW + x];
                    }
                    out[outRow + x] = s;
                }
            }
        }
    }

    private static void check(double[] src, int channels, int h, int w, int newH, int newW) {
        if (channels < 1 || h < 1 || w < 1 || newH < 1 || newW < 1 || src.length != channels * h * w) {
            throw new IllegalArgumentException("cannot resize " + src.length + " values as [" + channels + ", " + h
                    + ", " + w + "] to " + newH + "x" + newW);
        }
    }

    private record Weights(int[] first, int[] count, double[][] w) {
    }

    /** Per output index: the first source index, how many, and normalized weights (edges clamped). */
    private static Weights weights(int in, int out) {
        double scale = (double) in / out;
        double support = 2 * Math.max(1, scale);
        double stretch = Math.max(1, scale);
        int[] first = new int[out];
        int[] count = new int[out];
        double[][] w = new double[out][];
        double[] acc = new double[in];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale;
            int lo = (int) Math.floor(center - support);
            int hi = (int) Math.ceil(center + support);
            int min = in;
            int max = -1;
            double total = 0;
            for (int i = lo; i <= hi; i++) {
                double k = cubic((i + 0.5 - center) / stretch);
                if (k == 0) {
                    continue;
                }
                int j = Math.min(in - 1, Math.max(0, i));
                acc[j] += k;
                total += k;
                min = Math.min(min, j);
                max = Math.max(max, j);
            }
            first[o] = min;
            count[o] = max - min + 1;
            w[o] = new double[count[o]];
            for (int j = min; j <= max; j++) {
                w[o][j - min] = acc[j] / total;
                acc[j] = 0;
            }
        }
        return new Weights(first, count, w);
    }

    /** Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom). */
    static double cubic(double t) {
        double a = -0.5;
        double x = Math.abs(t);
        if (x < 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        }
        return 0;
    }
}
