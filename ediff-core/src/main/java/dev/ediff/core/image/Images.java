package dev.ediff.core.image;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Sample;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * Conversions between images and model tensors ({@code [C, H, W]}, values in [-1, 1]), and
 * safe image reading: the declared size is checked before any pixel is decoded.
 */
public final class Images {

    /** The largest image the SDK decodes: 8192 x 8192 pixels. */
    public static final long MAX_PIXELS = 8192L * 8192L;

    private Images() {
    }

    /**
     * The sample as an 8-bit image: {@link Sample#toImage()}.
     *
     * @param sample a 1- or 3-channel sample
     * @return the image
     */
    public static BufferedImage toImage(Sample sample) {
        return sample.toImage();
    }

    /**
     * A {@code [C, H, W]} tensor in [-1, 1] as an 8-bit image (C = 1 or 3), as {@link Sample#toImage()}.
     *
     * @param d the values, row major
     * @param c channels
     * @param h height
     * @param w width
     * @return the image
     */
    public static BufferedImage toImage(double[] d, int c, int h, int w) {
        return new Sample(0, new dev.ediff.api.TensorShape(1, c, h, w), d).toImage();
    }

    /**
     * The image as an RGB {@code [3, H, W]} tensor in [-1, 1].
     *
     * @param img the image
     * @return the tensor, row major
     */
    public static double[] toTensor(BufferedImage img) {
        int h = img.getHeight();
        int w = img.getWidth();
        double[] t = new double[3 * h * w];
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                int i = y * w + x;
                t[i] = ((rgb >> 16) & 0xFF) / 127.5 - 1;
                t[plane + i] = ((rgb >> 8) & 0xFF) / 127.5 - 1;
                t[2 * plane + i] = (rgb & 0xFF) / 127.5 - 1;
            }
        }
        return t;
    }

    /**
     * Reads an image file, refusing one whose header declares more than {@link #MAX_PIXELS}
     * pixels (before decoding) or whose sides are below {@code minSide}.
     *
     * @param file    the image file
     * @param minSide the smallest side accepted
     * @return the image
     * @throws EDiffException naming the file and what is wrong with it
     */
    public static BufferedImage read(Path file, int minSide) {
        if (!Files.isRegularFile(file)) {
            throw new EDiffException("image file " + file + " does not exist or is not a regular file");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new EDiffException("image file " + file + " is not in a readable image format (PNG, JPEG, BMP, GIF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                checkSize(file.toString(), w, h, minSide);
                BufferedImage img = reader.read(0);
                if (img == null) {
                    throw new EDiffException("image file " + file + " could not be decoded");
                }
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new EDiffException("image file " + file + " could not be read: " + e.getMessage(), e);
        }
    }

    /**
     * Checks an image's size: at most {@link #MAX_PIXELS}, each side at least {@code minSide}.
     *
     * @param what    names the image in the error message
     * @param w       its width
     * @param h       its height
     * @param minSide the smallest side accepted
     * @throws EDiffException naming the image and its size
     */
    public static void checkSize(String what, long w, long h, int minSide) {
        if (w * h > MAX_PIXELS || w > 65535 || h > 65535) {
            throw new EDiffException(what + " declares " + w + "x" + h + " pixels; the limit is " + MAX_PIXELS
                    + " pixels (8192x8192): downscale it first");
        }
        if (w < minSide || h < minSide) {
            throw new EDiffException(what + " is " + w + "x" + h + " pixels; each side must be at least " + minSide);
        }
    }

    /**
     * Resizes so that the shorter side is {@code size} (bicubic, antialiased), then center-crops a
     * {@code size x size} square: the usual CLIP image preprocessing.
     *
     * @param img  the image
     * @param size the side of the square
     * @return {@code [3, size, size]} in [-1, 1]
     */
    public static double[] shorterSideCenterCrop(BufferedImage img, int size) {
        int h = img.getHeight();
        int w = img.getWidth();
        double scale = (double) size / Math.min(h, w);
        int nh = Math.max(size, (int) Math.round(h * scale));
        int nw = Math.max(size, (int) Math.round(w * scale));
        double[] resized = Resampler.resize(toTensor(img), 3, h, w, nh, nw);
        int top = (nh - size) / 2;
        int left = (nw - size) / 2;
        double[] out = new double[3 * size * size];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < size; y++) {
                System.arraycopy(resized, (c * nh + top + y) * nw + left, out, (c * size + y) * size, size);
            }
        }
        return out;
    }
}
