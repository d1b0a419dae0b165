package dev.ediff.api;

import java.awt.image.BufferedImage;

/**
 * Where a painted phrase goes (paint-with-words): a region of the canvas with a coverage in
 * [0, 1] per point. Geometric masks use coordinates relative to the canvas ({@code 0..1}, x to
 * the right, y down), so one mask serves every resolution. Immutable.
 */
public abstract sealed class Mask permits Mask.Rectangle, Mask.Ellipse, Mask.Raster {

    private Mask() {
    }

    /**
     * The axis-aligned rectangle {@code [x0, x1] x [y0, y1]} in relative coordinates.
     *
     * @param x0 left edge, in [0, 1]
     * @param y0 top edge, in [0, 1]
     * @param x1 right edge, in [0, 1]
     * @param y1 bottom edge, in [0, 1]
     * @return the mask
     */
    public static Mask rectangle(double x0, double y0, double x1, double y1) {
        checkBox(x0, y0, x1, y1);
        return new Rectangle(x0, y0, x1, y1);
    }

    /**
     * The ellipse inscribed in the box {@code [x0, x1] x [y0, y1]} (relative coordinates).
     *
     * @param x0 left edge of the box, in [0, 1]
     * @param y0 top edge of the box, in [0, 1]
     * @param x1 right edge of the box, in [0, 1]
     * @param y1 bottom edge of the box, in [0, 1]
     * @return the mask
     */
    public static Mask ellipse(double x0, double y0, double x1, double y1) {
        checkBox(x0, y0, x1, y1);
        return new Ellipse(x0, y0, x1, y1);
    }

    /**
     * A grey-level image of any size: white (or opaque, for an image with alpha) = 1, black (or
     * transparent) = 0. Resized to each resolution with an antialiased filter.
     *
     * @param image the mask image
     * @return the mask
     */
    public static Mask image(BufferedImage image) {
        if (image == null) {
            throw new IllegalArgumentException("mask image must not be null");
        }
        int w = image.getWidth();
        int h = image.getHeight();
        boolean alpha = image.getColorModel().hasAlpha();
        double[] v = new double[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = image.getRGB(x, y);
                v[y * w + x] = alpha ? ((argb >>> 24) & 0xFF) / 255.0
                        : (0.299 * ((argb >> 16) & 0xFF) + 0.587 * ((argb >> 8) & 0xFF) + 0.114 * (argb & 0xFF)) / 255.0;
            }
        }
        return new Raster(v, w, h);
    }

    /**
     * The pixels of a colour-keyed image (one colour per phrase, the format paint-with-words users
     * know) that have exactly the colour {@code rgb} ({@code 0xRRGGBB}, alpha ignored).
     *
     * @param map the colour-keyed image
     * @param rgb the colour of this mask's pixels
     * @return the mask
     */
    public static Mask colorKey(BufferedImage map, int rgb) {
        if (map == null) {
            throw new IllegalArgumentException("colour map must not be null");
        }
        int w = map.getWidth();
        int h = map.getHeight();
        double[] v = new double[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                v[y * w + x] = (map.getRGB(x, y) & 0xFFFFFF) == (rgb & 0xFFFFFF) ? 1 : 0;
            }
        }
        return new Raster(v, w, h);
    }

    private static void checkBox(double x0, double y0, double x1, double y1) {
        for (double v : new double[] {x0, y0, x1, y1}) {
            if (!Double.isFinite(v) || v < 0 || v > 1) {
                throw new IllegalArgumentException("mask coordinates are relative, in [0, 1]; got (" + x0 + ", " + y0
                        + ") - (" + x1 + ", " + y1 + ")");
            }
        }
        if (!(x1 > x0 && y1 > y0)) {
            throw new IllegalArgumentException("mask box is empty: need x1 > x0 and y1 > y0, got (" + x0 + ", " + y0
                    + ") - (" + x1 + ", " + y1 + ")");
        }
    }

    /**
     * The mask on a {@code width x height} grid, row major: each cell's covered fraction (geometric
     * masks, 4x4 supersampling per cell) or its area-averaged value (images), in [0, 1].
     *
     * @param width  grid columns, at least 1
     * @param height grid rows, at least 1
     * @return {@code width * height} values
     */
    public abstract float[] rasterize(int width, int height);

    /** Rectangle mask. */
    static final class Rectangle extends Mask {
        final double x0;
        final double y0;
        final double x1;
        final double y1;

        Rectangle(double x0, double y0, double x1, double y1) {
            this.x0 = x0;
            this.y0 = y0;
            this.x1 = x1;
            this.y1 = y1;
        }

        @Override
        public float[] rasterize(int width, int height) {
            return supersample(width, height, (x, y) -> x >= x0 && x <= x1 && y >= y0 && y <= y1);
        }
    }

    /** Ellipse mask. */
    static final class Ellipse extends Mask {
        final double cx;
        final double cy;
        final double rx;
        final double ry;

        Ellipse(double x0, double y0, double x1, double y1) {
            cx = (x0 + x1) / 2;
            cy = (y0 + y1) / 2;
            rx = (x1 - x0) / 2;
            ry = (y1 - y0) / 2;
        }

        @Override
        public float[] rasterize(int width, int height) {
            return supersample(width, height, (x, y) -> {
                double dx = (x - cx) / rx;
                double dy = (y - cy) / ry;
                return dx * dx + dy * dy <= 1;
            });
        }
    }

    /** Image mask (a copy of its values). */
    static final class Raster extends Mask {
        final double[] values;
        final int w;
        final int h;

        Raster(double[] values, int w, int h) {
            this.values = values;
            this.w = w;
            this.h = h;
        }

        @Override
        public float[] rasterize(int width, int height) {
            checkGrid(width, height);
            float[] out = new float[width * height];
            // Area averaging: each output cell is the mean of the source over the cell's footprint.
            for (int oy = 0; oy < height; oy++) {
                double sy0 = (double) oy * h / height;
                double sy1 = (double) (oy + 1) * h / height;
                for (int ox = 0; ox < width; ox++) {
                    double sx0 = (double) ox * w / width;
                    double sx1 = (double) (ox + 1) * w / width;
                    double sum = 0;
                    double area = 0;
                    for (int y = (int) Math.floor(sy0); y < Math.min(h, Math.ceil(sy1)); y++) {
                        double wy = Math.min(y + 1, sy1) - Math.max(y, sy0);
                        for (int x = (int) Math.floor(sx0); x < Math.min(w, Math.ceil(sx1)); x++) {
                            double wx = Math.min(x + 1, sx1) - Math.max(x, sx0);
                            sum += wx * wy * values[y * w + x];
                            area += wx * wy;
                        }
                    }
                    out[oy * width + ox] = (float) Math.max(0, Math.min(1, sum / area));
                }
            }
            return out;
        }
    }

    @FunctionalInterface
    private interface Inside {
        boolean test(double x, double y);
    }

    private static void checkGrid(int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("mask grid must be at least 1x1, got " + width + "x" + height);
        }
    }

    private static float[] supersample(int width, int height, Inside inside) {
        checkGrid(width, height);
        float[] out = new float[width * height];
        int s = 4;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int hits = 0;
                for (int j = 0; j < s; j++) {
                    for (int i = 0; i < s; i++) {
                        if (inside.test((x + (i + 0.5) / s) / width, (y + (j + 0.5) / s) / height)) {
                            hits++;
                        }
                    }
                }
                out[y * width + x] = (float) hits / (s * s);
            }
        }
        return out;
    }
}
