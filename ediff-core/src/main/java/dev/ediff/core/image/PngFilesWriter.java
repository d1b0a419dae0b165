package dev.ediff.core.image;

import dev.ediff.api.PngWriter;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;

/** {@link PngFiles} as the {@link PngWriter} of {@code Generation.writePngs} (found by {@link java.util.ServiceLoader}). */
public final class PngFilesWriter implements PngWriter {

    /** For {@link java.util.ServiceLoader}. */
    public PngFilesWriter() {
    }

    @Override
    public void write(Path target, BufferedImage image, Map<String, String> text, boolean overwrite) {
        PngFiles.write(target, image, text, overwrite);
    }
}
