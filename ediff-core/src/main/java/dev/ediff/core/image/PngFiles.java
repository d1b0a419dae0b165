package dev.ediff.core.image;

import dev.ediff.api.EDiffException;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PNG files carrying text chunks (the generation parameters), written atomically: to a
 * temporary file in the target folder, then renamed. A failure or cancellation leaves no partial file.
 */
public final class PngFiles {

    private PngFiles() {
    }

    /**
     * Writes {@code image} to {@code target} with a {@code tEXt} chunk per entry of {@code text}.
     *
     * @param target    the PNG file
     * @param image     the image
     * @param text      the text chunks, keyword to text, in order
     * @param overwrite replace an existing file; otherwise an existing target is an error
     * @throws EDiffException naming the file on any failure
     */
    public static void write(Path target, BufferedImage image, Map<String, String> text, boolean overwrite) {
        Path dir = target.toAbsolutePath().getParent();
        if (!overwrite && Files.exists(target)) {
            throw new EDiffException("output file " + target + " already exists (ask to overwrite, or choose another name)");
        }
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".part");
            ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
            try (ImageOutputStream out = ImageIO.createImageOutputStream(tmp.toFile())) {
                writer.setOutput(out);
                IIOMetadata meta = writer.getDefaultImageMetadata(new ImageTypeSpecifier(image), null);
                IIOMetadataNode root = new IIOMetadataNode("javax_imageio_png_1.0");
                IIOMetadataNode chunks = new IIOMetadataNode("tEXt");
                for (Map.Entry<String, String> e : text.entrySet()) {
                    IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                    entry.setAttribute("keyword", e.getKey());
                    entry.setAttribute("value", e.getValue());
                    chunks.appendChild(entry);
                }
                root.appendChild(chunks);
                meta.mergeTree("javax_imageio_png_1.0", root);
                writer.write(new IIOImage(image, null, meta));
            } finally {
                writer.dispose();
            }
            if (overwrite) {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                // ATOMIC_MOVE may replace on POSIX; link-then-delete refuses an existing target atomically.
                try {
                    Files.createLink(target, tmp);
                    Files.delete(tmp);
                } catch (UnsupportedOperationException | IOException linkFailed) {
                    if (linkFailed instanceof FileAlreadyExistsException) {
                        throw linkFailed;
                    }
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            tmp = null;
        } catch (FileAlreadyExistsException e) {
            throw new EDiffException("output file " + target + " already exists (ask to overwrite, or choose another name)");
        } catch (IOException | RuntimeException e) {
            throw new EDiffException("could not write PNG " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the temporary file is hidden and named *.part; nothing else to do
                }
            }
        }
    }

    /**
     * The {@code tEXt} entries of a PNG file, in file order.
     *
     * @param file the PNG file
     * @return keyword to text
     */
    public static Map<String, String> readText(Path file) {
        try (var in = ImageIO.createImageInputStream(file.toFile())) {
            var reader = ImageIO.getImageReadersByFormatName("png").next();
            try {
                reader.setInput(in, true, false);
                IIOMetadata meta = reader.getImageMetadata(0);
                org.w3c.dom.Node root = meta.getAsTree("javax_imageio_png_1.0");
                Map<String, String> text = new LinkedHashMap<>();
                for (org.w3c.dom.Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                    if (n.getNodeName().equals("tEXt")) {
                        for (org.w3c.dom.Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                            var attrs = e.getAttributes();
                            text.put(attrs.getNamedItem("keyword").getNodeValue(), attrs.getNamedItem("value").getNodeValue());
                        }
                    }
                }
                return text;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new EDiffException("could not read PNG " + file + ": " + e.getMessage(), e);
        }
    }
}
