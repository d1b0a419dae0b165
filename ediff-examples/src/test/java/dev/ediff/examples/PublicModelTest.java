package dev.ediff.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The public-model example on ediff-onnx's tiny diffusers fixtures (read from its source folder). */
class PublicModelTest {

    private static Path fixture(String name) {
        return Path.of("..", "ediff-onnx", "src", "test", "resources", "diffusers", name).toAbsolutePath().normalize();
    }

    @Test
    void sd3WritesAnImageWithAndWithoutT5(@TempDir Path out) throws Exception {
        List<Path> files = PublicModel.run(fixture("sd3"), null, "a red cube", out);
        assertEquals(List.of(out.resolve("public-model-42.png"), out.resolve("public-model-no-t5-42.png")), files);
        BufferedImage a = ImageIO.read(files.get(0).toFile());
        BufferedImage b = ImageIO.read(files.get(1).toFile());
        assertEquals(64, a.getWidth());
        int differing = 0;
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                differing += a.getRGB(x, y) != b.getRGB(x, y) ? 1 : 0;
            }
        }
        // T5 off replaces T5's states by zeros: the fixture's transformer then sees other conditioning
        org.junit.jupiter.api.Assertions.assertTrue(differing > 0, "dropping T5 changes the image");
    }

    @Test
    void sdxlRunsWithItsRefiner(@TempDir Path out) {
        assertEquals(List.of(out.resolve("public-model-42.png")),
                PublicModel.run(fixture("sdxl-base"), fixture("sdxl-refiner"), "a red cube", out));
    }
}
