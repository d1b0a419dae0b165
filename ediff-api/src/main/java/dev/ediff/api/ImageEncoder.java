package dev.ediff.api;

import java.awt.image.BufferedImage;

/** Embeds a style reference image (eDiff-I: a CLIP image embedding), preprocessing included. Thread-safe. */
public interface ImageEncoder extends AutoCloseable {

    /**
     * The embedding of {@code image}, {@code [1, D]}.
     *
     * @param image the reference image, any size
     * @return its embedding
     */
    Tensor encode(BufferedImage image);

    /** {@return the embedding the model was trained to see when no style is given, {@code [1, D]}} */
    Tensor off();

    @Override
    default void close() {
    }
}
