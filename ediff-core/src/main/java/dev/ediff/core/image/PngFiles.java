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
 * Files are created like any file a user writes: the permissions are 0666 less the umask.
 *
 * <p>The temporary file is hidden and named {@code .<name>.<pid>.<random>.part}. A process that is
 * killed (kill -9, power loss) cannot remove it, so every write first deletes the part files of this
 * naming in its folder whose process is no longer running.
 *
 * <p>Values are written as uncompressed {@code iTXt} chunks (UTF-8, so any prompt survives; {@code tEXt}
 * is Latin-1 only). Control characters (Unicode category Cc: C0, DEL, C1, which the PNG specification
 * asks writers to avoid; NUL would end the field), unpaired surrogates (not encodable in UTF-8) and the
 * backslash are escaped (as a backslash, {@code u} and four hex digits, and as two backslashes);
 * {@link #readText} undoes it. Files with
 * {@code tEXt} chunks (written before) read as they are.
 */
public final class PngFiles {

    private PngFiles() {
    }

    /**
     * Writes {@code image} to {@code target} with an {@code iTXt} chunk per entry of {@code text}
     * (keywords: Latin-1 letters, digits and single inner spaces, 1 to 79 characters, as PNG requires).
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
            cleanStaleParts(dir);
            tmp = createPart(dir, target.getFileName().toString());
            ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
            try (ImageOutputStream out = ImageIO.createImageOutputStream(tmp.toFile())) {
                writer.setOutput(out);
                IIOMetadata meta = writer.getDefaultImageMetadata(new ImageTypeSpecifier(image), null);
                IIOMetadataNode root = new IIOMetadataNode("javax_imageio_png_1.0");
                IIOMetadataNode chunks = new IIOMetadataNode("iTXt");
                for (Map.Entry<String, String> e : text.entrySet()) {
                    IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                    entry.setAttribute("keyword", checkKeyword(e.getKey()));
                    entry.setAttribute("compressionFlag", "FALSE");
                    entry.setAttribute("compressionMethod", "0");
                    entry.setAttribute("languageTag", "");
                    entry.setAttribute("translatedKeyword", "");
                    entry.setAttribute("text", escape(e.getValue()));
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
     * The text entries of a PNG file in file order: {@code iTXt} values unescaped (see the class
     * comment), {@code tEXt} values as they are.
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
                    boolean international = n.getNodeName().equals("iTXt");
                    if (international || n.getNodeName().equals("tEXt")) {
                        for (org.w3c.dom.Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                            var attrs = e.getAttributes();
                            String value = attrs.getNamedItem(international ? "text" : "value").getNodeValue();
                            text.put(attrs.getNamedItem("keyword").getNodeValue(), international ? unescape(value) : value);
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

    private static final java.util.regex.Pattern PART = java.util.regex.Pattern.compile("\\..+\\.(\\d{1,18})\\.[0-9a-f]{16}\\.part");

    /** Made when the first file is written, not when this class loads: a SecureRandom starts the security providers (~45 ms in a fresh JVM). */
    private static final class PartNames {
        static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
    }

    /** A new, empty part file; created without explicit permissions, so the umask applies (createTempFile makes 0600). */
    private static Path createPart(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path part = dir.resolve("." + name + "." + ProcessHandle.current().pid() + "."
                    + String.format("%016x", PartNames.RANDOM.nextLong()) + ".part");
            try {
                return Files.createFile(part);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /** Deletes part files of our naming in {@code dir} whose writing process has ended. */
    static void cleanStaleParts(Path dir) {
        long self = ProcessHandle.current().pid();
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                java.util.regex.Matcher m = PART.matcher(f.getFileName().toString());
                if (m.matches()) {
                    long pid = Long.parseLong(m.group(1));
                    if (pid != self && ProcessHandle.of(pid).isEmpty() && Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: a folder we cannot list or a file we cannot delete must not fail the write
        }
    }

    private static String checkKeyword(String keyword) {
        if (keyword.isEmpty() || keyword.length() > 79 || !keyword.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)
                || keyword.startsWith(" ") || keyword.endsWith(" ") || keyword.contains("  ")) {
            throw new IllegalArgumentException("PNG text keyword '" + keyword + "' must be 1-79 printable ASCII"
                    + " characters without leading, trailing or double spaces");
        }
        return keyword;
    }

    /** Escapes backslashes, control characters (Cc) and unpaired surrogates; see the class comment. */
    static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean pairedHigh = Character.isHighSurrogate(c) && i + 1 < value.length()
                    && Character.isLowSurrogate(value.charAt(i + 1));
            if (c == '\\') {
                b.append("\\\\");
            } else if (pairedHigh) {
                b.append(c).append(value.charAt(++i));
            } else if (Character.getType(c) == Character.CONTROL || Character.isSurrogate(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** Undoes {@link #escape}; a backslash not starting a known escape is kept as it is. */
    static String unescape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < value.length() && value.charAt(i + 1) == '\\') {
                b.append('\\');
                i++;
            } else if (c == '\\' && i + 5 < value.length() + 0 && value.charAt(i + 1) == 'u'
                    && value.substring(i + 2, i + 6).chars().allMatch(h -> Character.digit(h, 16) >= 0)) {
                b.append((char) Integer.parseInt(value.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
