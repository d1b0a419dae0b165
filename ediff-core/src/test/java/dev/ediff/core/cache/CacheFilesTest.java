package dev.ediff.core.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cache files appear whole or not at all: no temporary file is left either way. */
class CacheFilesTest {

    @TempDir
    Path tmp;

    private List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void writesReplacesAndLeavesNoPartFile() throws IOException {
        Path file = tmp.resolve("a/b/entry.bin");
        CacheFiles.write(file, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file));
        CacheFiles.write(file, new byte[] {4});
        assertArrayEquals(new byte[] {4}, Files.readAllBytes(file));
        assertEquals(List.of(file), files(file.getParent()));
    }

    @Test
    void aFailedRenameLeavesNeitherFile() throws IOException {
        Path target = tmp.resolve("taken");
        Files.createDirectories(target.resolve("inside")); // a non-empty folder cannot be replaced by a file
        assertThrows(IOException.class, () -> CacheFiles.write(target, new byte[] {1}));
        assertEquals(List.of(target), files(tmp), "only the folder that was there");
    }
}
