package dev.ediff.core.cache;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Putting files into the SDK's cache folders so that a reader never sees half of one: written
 * under a temporary name in the same folder, then renamed into place (atomically where the file
 * system can). Shared by the caches of ediff-core and ediff-onnx (this package is exported to
 * {@code dev.ediff.onnx} only).
 */
public final class CacheFiles {

    private CacheFiles() {
    }

    /**
     * Renames {@code tmp} to {@code target}, replacing it: an atomic rename where the file system
     * supports one, else a plain one.
     *
     * @param tmp    the finished temporary file, in the target's folder
     * @param target the file's name in the cache
     * @throws IOException if the rename fails ({@code tmp} is left for the caller to remove)
     */
    public static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes {@code bytes} to {@code file} through a temporary {@code .part} file beside it (its
     * folder is created if missing); on failure the temporary file is removed and no file is left.
     *
     * @param file  the file to write
     * @param bytes its content
     * @throws IOException if it cannot be written
     */
    public static void write(Path file, byte[] bytes) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
        try {
            Files.write(tmp, bytes);
            moveIntoPlace(tmp, file);
            tmp = null;
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
