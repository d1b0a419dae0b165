package dev.ediff.api;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes PNG files with text chunks, for {@link Generation#writePngs(Path)}. ediff-core provides the
 * implementation (atomic writes, the generation parameters in text chunks), found with
 * {@link java.util.ServiceLoader}; an application does not implement it.
 */
public interface PngWriter {

    /**
     * Writes {@code image} to {@code target} with one text chunk per entry of {@code text}; a
     * failure leaves no partial file.
     *
     * @param target    the file
     * @param image     the image
     * @param text      keyword to text, in file order
     * @param overwrite replace an existing file; otherwise an existing target is an error
     * @throws EDiffException naming the file on any failure
     */
    void write(Path target, BufferedImage image, Map<String, String> text, boolean overwrite);
}
