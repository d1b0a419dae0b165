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

    /**
     * The mask as text that {@link #parse} reads back into an equal mask (same coverage everywhere,
     * bit for bit): {@code rect(x0,y0,x1,y1)}, {@code ellipse(x0,y0,x1,y1)}, or for image masks
     * {@code raster(w,h,DATA)} with the values deflated and Base64-encoded.
     *
     * @return the text form
     */
    public abstract String spec();

    /**
     * Reads a mask written by {@link #spec()}.
     *
     * @param spec the text form
     * @return the mask
     * @throws IllegalArgumentException naming the accepted forms when the text is not one of them
     */
    public static Mask parse(String spec) {
        String t = spec.trim();
        int open = t.indexOf('(');
        if (open < 0 || !t.endsWith(")")) {
            throw badSpec(spec, null);
        }
        String kind = t.substring(0, open).trim();
        String[] a = t.substring(open + 1, t.length() - 1).split(",");
        try {
            switch (kind) {
                case "rect", "ellipse" -> {
                    if (a.length != 4) {
                        throw badSpec(spec, null);
                    }
                    double[] v = new double[4];
                    for (int i = 0; i < 4; i++) {
                        v[i] = Double.parseDouble(a[i].trim());
                    }
                    return kind.equals("rect") ? rectangle(v[0], v[1], v[2], v[3]) : ellipse(v[0], v[1], v[2], v[3]);
                }
                case "raster" -> {
                    if (a.length != 3) {
                        throw badSpec(spec, null);
                    }
                    return Raster.decode(Integer.parseInt(a[0].trim()), Integer.parseInt(a[1].trim()), a[2].trim());
                }
                default -> throw badSpec(spec, null);
            }
        } catch (NumberFormatException e) {
            throw badSpec(spec, e);
        }
    }

    private static IllegalArgumentException badSpec(String spec, Exception cause) {
        String shown = spec.length() > 60 ? spec.substring(0, 60) + "..." : spec;
        return new IllegalArgumentException("mask '" + shown + "' is not rect(x0,y0,x1,y1), ellipse(x0,y0,x1,y1)"
                + " or raster(w,h,DATA)", cause);
    }

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

        @Override
        public String spec() {
            return "rect(" + x0 + "," + y0 + "," + x1 + "," + y1 + ")";
        }
    }

    /** Ellipse mask. */
    static final class Ellipse extends Mask {
        final double[] box;
        final double cx;
        final double cy;
        final double rx;
        final double ry;

        Ellipse(double x0, double y0, double x1, double y1) {
            box = new double[] {x0, y0, x1, y1};
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

        @Override
        public String spec() {
            return "ellipse(" + box[0] + "," + box[1] + "," + box[2] + "," + box[3] + ")";
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
        public String spec() {
            java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(8 * values.length);
            raw.asDoubleBuffer().put(values);
            java.util.zip.Deflater deflater = new java.util.zip.Deflater(java.util.zip.Deflater.BEST_COMPRESSION);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            try {
                deflater.setInput(raw.array());
                deflater.finish();
                byte[] buf = new byte[8192];
                while (!deflater.finished()) {
                    out.write(buf, 0, deflater.deflate(buf));
                }
            } finally {
                deflater.end();
            }
            return "raster(" + w + "," + h + "," + java.util.Base64.getEncoder().encodeToString(out.toByteArray()) + ")";
        }

        static Raster decode(int w, int h, String data) {
            checkGrid(w, h);
            byte[] raw = new byte[8 * w * h];
            java.util.zip.Inflater inflater = new java.util.zip.Inflater();
            try {
                inflater.setInput(java.util.Base64.getDecoder().decode(data));
                int n = 0;
                while (n < raw.length && !inflater.finished()) {
                    int got = inflater.inflate(raw, n, raw.length - n);
                    if (got == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                        break;
                    }
                    n += got;
                }
                if (n != raw.length || !inflater.finished()) {
                    throw new IllegalArgumentException("raster mask data does not hold " + w + "x" + h + " values");
                }
            } catch (java.util.zip.DataFormatException e) {
                throw new IllegalArgumentException("raster mask data is not deflated values: " + e.getMessage(), e);
            } finally {
                inflater.end();
            }
            double[] v = new double[w * h];
            java.nio.ByteBuffer.wrap(raw).asDoubleBuffer().get(v);
            for (double x : v) {
                if (!(x >= 0 && x <= 1)) {
                    throw new IllegalArgumentException("raster mask values must be in [0, 1], found " + x);
                }
            }
            return new Raster(v, w, h);
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
