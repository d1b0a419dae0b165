package dev.ediff.core.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Output files get the permissions of any file the user creates, and stale part files of killed runs are removed. */
class PngFilesTest {

    @TempDir
    Path tmp;

    static final BufferedImage IMAGE = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);

    @Test
    void aPngGetsThePermissionsOfAFileCreatedUnderTheSameUmask() throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        Path reference = Files.createFile(tmp.resolve("reference")); // 0666 less the umask, as any program's file
        Path png = tmp.resolve("out.png");
        PngFiles.write(png, IMAGE, Map.of("prompt", "x"), false);
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(png));
        PngFiles.write(png, IMAGE, Map.of("prompt", "y"), true);
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(png), "also when replacing");
    }

    @Test
    void partFilesOfEndedProcessesAreRemovedOthersAreKept() throws Exception {
        Process ended = new ProcessBuilder("java", "-version").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        ended.waitFor();
        assumeTrue(ProcessHandle.of(ended.pid()).isEmpty(), "the ended process is gone");
        Path stale = Files.createFile(tmp.resolve(".ediff-42.png." + ended.pid() + ".0123456789abcdef.part"));
        Path running = Files.createFile(tmp.resolve(".ediff-43.png." + ProcessHandle.current().pid() + ".0123456789abcdef.part"));
        Path notOurs = Files.createFile(tmp.resolve(".someone-else.part"));
        Path alsoNotOurs = Files.createFile(tmp.resolve("ediff-44.png." + ended.pid() + ".0123456789abcdef.part"));

        PngFiles.write(tmp.resolve("next.png"), IMAGE, Map.of("prompt", "x"), false);

        assertFalse(Files.exists(stale), "the part file of a killed run is removed");
        assertTrue(Files.exists(running), "a part file of a running process stays");
        assertTrue(Files.exists(notOurs), "other hidden files stay");
        assertTrue(Files.exists(alsoNotOurs), "files not hidden stay");
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(4, s.count(), "the new image and the three kept files; the write left no part file of its own");
        }
    }
}
