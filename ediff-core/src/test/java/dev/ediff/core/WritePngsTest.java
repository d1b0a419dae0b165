package dev.ediff.core;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.TensorShape;
import dev.ediff.core.image.PngFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Sample#toImage()} and {@link Generation#writePngs}: each file regenerates its own image. */
class WritePngsTest {

    @Test
    void toImageMapsMinusOneToOneOntoBytes() {
        Sample rgb = new Sample(1, TensorShape.of(3, 1, 2), new double[] {-1, 1, 0, 0.5, 2, -3});
        BufferedImage img = rgb.toImage();
        assertEquals(2, img.getWidth());
        assertEquals(1, img.getHeight());
        // channel planes: R = {-1, 1}, G = {0, 0.5}, B = {2, -3}; v -> round((v + 1) * 127.5), clamped
        assertEquals((0 << 16) | (128 << 8) | 255, img.getRGB(0, 0) & 0xFFFFFF);
        assertEquals((255 << 16) | (191 << 8) | 0, img.getRGB(1, 0) & 0xFFFFFF);
        Sample grey = new Sample(1, TensorShape.of(1, 1, 1), new double[] {0});
        assertEquals(128, grey.toImage().getRaster().getSample(0, 0, 0));
        assertContains(assertThrows(IllegalArgumentException.class,
                () -> new Sample(1, TensorShape.of(2, 1, 1), new double[2]).toImage()).getMessage(), "1- or 3-channel");
    }

    @Test
    void everyWrittenPngRegeneratesItsImageAlone(@TempDir Path tmp) throws Exception {
        try (EDiff e = GenerationParametersTest.cascade()) {
            Generation g = e.generate(Request.prompt("a red circle").seed(40).count(3).steps(4).build());
            List<Path> files = g.writePngs(tmp.resolve("out"));
            assertEquals(List.of(tmp.resolve("out/ediff-40.png"), tmp.resolve("out/ediff-41.png"),
                    tmp.resolve("out/ediff-42.png")), files);
            for (int i = 0; i < 3; i++) {
                BufferedImage expected = g.sample(i).toImage();
                BufferedImage read = ImageIO.read(files.get(i).toFile());
                for (int y = 0; y < expected.getHeight(); y++) {
                    for (int x = 0; x < expected.getWidth(); x++) {
                        assertEquals(expected.getRGB(x, y), read.getRGB(x, y));
                    }
                }
            }
            Map<String, String> text = PngFiles.readText(files.get(2));
            assertEquals("42", text.get("seed"));
            assertEquals("1", text.get("count"));
            Generation alone = e.generate(GenerationParameters.parse(text).build());
            assertEquals(1, alone.samples().size());
            assertArrayEquals(g.sample(2).data(), alone.sample(0).data());
            assertContains(assertThrows(EDiffException.class, () -> g.writePngs(tmp.resolve("out"))).getMessage(),
                    "ediff-40.png", "already exists");
        }
    }
}
