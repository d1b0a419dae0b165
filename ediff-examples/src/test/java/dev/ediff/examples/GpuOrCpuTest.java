package dev.ediff.examples;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.PngFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * "Run on CUDA if present, else on the CPU with a warning": on a machine without CUDA (CI, this
 * build's CPU artifact) the example falls back and makes exactly the CPU's image.
 */
class GpuOrCpuTest {

    @TempDir
    Path out;

    @Test
    void withoutCudaItFallsBackToTheCpusImage() throws Exception {
        List<Path> files = GpuOrCpu.run(out);
        assertEquals(1, files.size());
        BufferedImage fallback = ImageIO.read(files.get(0).toFile());
        Generation cpu;
        try (EDiff ediff = EDiff.openDefault()) {
            cpu = ediff.generate(Request.prompt("a small red circle above a large blue square").seed(42).build());
        }
        BufferedImage expected = cpu.sample(0).toImage();
        assertEquals(expected.getWidth(), fallback.getWidth());
        assertArrayEquals(expected.getRGB(0, 0, expected.getWidth(), expected.getHeight(), null, 0, expected.getWidth()),
                fallback.getRGB(0, 0, fallback.getWidth(), fallback.getHeight(), null, 0, fallback.getWidth()));
        assertEquals("42", PngFiles.readText(files.get(0)).get("seed"));
    }
}
