package dev.ediff.cli;

import dev.ediff.core.image.PngFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate and info on the diffusers fixture folders of ediff-onnx (tiny random-weight exports). */
class DiffusersCommandTest {

    /** ediff-onnx's fixtures, read from its source folder (the reactor runs each module in its own folder). */
    private static Path fixture(String name) {
        return Path.of("..", "ediff-onnx", "src", "test", "resources", "diffusers", name).toAbsolutePath().normalize();
    }

    @Test
    void generateWritesTheDecodedImageOfASd3Folder(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        String[] r = ConformanceCommandTest.run("generate", "--model", fixture("sd3").toString(), "--seed", "3",
                "--steps", "4", "--threads", "1", "--out", out.toString(), "a red cube");
        assertEquals("0", r[0], r[2]);
        assertEquals(List.of("ediff-3.png"), GenerateCommandTest.files(out));
        BufferedImage img = ImageIO.read(out.resolve("ediff-3.png").toFile());
        assertEquals(64, img.getWidth(), "the VAE decoder's 64x64 pixels, not the 8x8 latents");
        assertEquals(64, img.getHeight());
        Map<String, String> text = PngFiles.readText(out.resolve("ediff-3.png"));
        assertEquals("euler", text.get("sampler"), "flow-match Euler's twin is the default");
        assertEquals("4", text.get("steps"));
    }

    @Test
    void generateRunsSdxlBaseWithItsRefiner(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        String[] r = ConformanceCommandTest.run("generate", "--model", fixture("sdxl-base").toString(), "--refiner",
                fixture("sdxl-refiner").toString(), "--seed", "1", "--steps", "10", "--threads", "1", "--out",
                out.toString(), "a red cube");
        assertEquals("0", r[0], r[2]);
        assertEquals(List.of("ediff-1.png"), GenerateCommandTest.files(out));
    }

    @Test
    void refinerWithoutADiffusersBaseIsAUsageError(@TempDir Path tmp) {
        String[] r = ConformanceCommandTest.run("generate", "--refiner", fixture("sdxl-refiner").toString(), "--out",
                tmp.toString(), "a red cube");
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].contains("--refiner needs --model to be a diffusers folder"), r[2]);
    }

    @Test
    void benchMeasuresADiffusersFolder() {
        String[] r = ConformanceCommandTest.run("bench", "--model", fixture("sd15").toString(), "--steps", "2", "--runs", "1",
                "--threads", "1");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("model sd15, dpmpp_2m, 2 steps"), r[1]);
        assertTrue(r[1].contains("model ms/st"), r[1]);
    }

    @Test
    void evalRefusesARefiner(@TempDir Path tmp) throws Exception {
        Path prompts = java.nio.file.Files.writeString(tmp.resolve("p.txt"), "a red cube\n");
        String[] r = ConformanceCommandTest.run("eval", prompts.toString(), "--model", fixture("sdxl-base").toString(),
                "--refiner", fixture("sdxl-refiner").toString());
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].contains("--refiner is for generate, info and bench"), r[2]);
    }

    @Test
    void infoDescribesTheFolderAndChecksIt() {
        String[] r = ConformanceCommandTest.run("info", "--model", fixture("sd2").toString(), "--check");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("stable-diffusion (ORTStableDiffusionPipeline)"), r[1]);
        assertTrue(r[1].contains("scheduler DPMSolverMultistepScheduler  prediction v_prediction  spacing trailing"), r[1]);
        assertTrue(r[1].contains("default sampler dpmpp_2m"), r[1]);
        assertTrue(r[1].contains("check: every graph opened"), r[1]);
    }
}
