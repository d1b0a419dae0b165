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

    /** --paint on an SD 1.x folder: the U-Net is rewritten into the cache of the property, and the image changes most where painted. */
    @Test
    void paintRewritesTheUnetAndChangesThePaintedRegion(@TempDir Path tmp) throws Exception {
        String property = dev.ediff.onnx.diffusers.DiffusersPipeline.REWRITE_CACHE_PROPERTY;
        String previous = System.getProperty(property);
        System.setProperty(property, tmp.resolve("cache").toString());
        try {
            String[] plain = ConformanceCommandTest.run("generate", "--model", fixture("sd15").toString(), "--seed", "2",
                    "--steps", "4", "--threads", "1", "--out", tmp.resolve("plain").toString(), "a red cube on a table");
            assertEquals("0", plain[0], plain[2]);
            String[] painted = ConformanceCommandTest.run("generate", "--model", fixture("sd15").toString(), "--seed", "2",
                    "--steps", "4", "--threads", "1", "--paint", "red cube=rect(0,0,0.5,1):2", "--out",
                    tmp.resolve("painted").toString(), "a red cube on a table");
            assertEquals("0", painted[0], painted[2]);
            assertTrue(java.nio.file.Files.list(tmp.resolve("cache")).findAny().isPresent(), "a rewrite in the cache folder");
            BufferedImage a = ImageIO.read(tmp.resolve("plain").resolve("ediff-2.png").toFile());
            BufferedImage b = ImageIO.read(tmp.resolve("painted").resolve("ediff-2.png").toFile());
            double left = 0;
            double right = 0;
            for (int y = 0; y < a.getHeight(); y++) {
                for (int x = 0; x < a.getWidth(); x++) {
                    int pa = a.getRGB(x, y);
                    int pb = b.getRGB(x, y);
                    double d = 0;
                    for (int shift = 0; shift <= 16; shift += 8) {
                        d += Math.abs(((pa >> shift) & 0xff) - ((pb >> shift) & 0xff));
                    }
                    if (x < a.getWidth() / 2) {
                        left += d;
                    } else {
                        right += d;
                    }
                }
            }
            assertTrue(left > 0, "painting changes the image");
            assertTrue(left > right, "more inside the painted left half (" + left + ") than outside (" + right + ")");
            String[] sd3 = ConformanceCommandTest.run("generate", "--model", fixture("sd3").toString(), "--steps", "2",
                    "--threads", "1", "--paint", "red cube=rect(0,0,0.5,1):1", "--out", tmp.resolve("sd3").toString(),
                    "a red cube on a table");
            assertTrue(!sd3[0].equals("0"), sd3[2]);
            assertTrue(sd3[2].contains("cannot paint words") && sd3[2].contains("joint"), sd3[2]);
            assertTrue(!sd3[2].contains("\tat "), "no stack trace: " + sd3[2]);
        } finally {
            if (previous == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, previous);
            }
        }
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

    /** --memory lazy loads each graph when needed: the same image as resident; the metadata is that of the run. */
    @Test
    void lazyMemoryGivesTheSameImageAsResident(@TempDir Path tmp) throws Exception {
        byte[][] png = new byte[2][];
        String[] modes = {"resident", "LAZY"};
        for (int k = 0; k < 2; k++) {
            Path out = tmp.resolve(modes[k]);
            String[] r = ConformanceCommandTest.run("generate", "--model", fixture("sdxl-base").toString(), "--refiner",
                    fixture("sdxl-refiner").toString(), "--memory", modes[k], "--seed", "1", "--steps", "6", "--threads", "1",
                    "--out", out.toString(), "a red cube");
            assertEquals("0", r[0], r[2]);
            png[k] = java.nio.file.Files.readAllBytes(out.resolve("ediff-1.png"));
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(png[0], png[1]);
    }

    @Test
    void clipSkipChangesAnSdxlImageAndIsRefusedForABundle(@TempDir Path tmp) throws Exception {
        byte[][] png = new byte[2][];
        for (int skip = 0; skip < 2; skip++) {
            Path out = tmp.resolve("skip" + skip);
            String[] r = ConformanceCommandTest.run("generate", "--model", fixture("sdxl-base").toString(), "--clip-skip",
                    Integer.toString(skip), "--seed", "1", "--steps", "4", "--threads", "1", "--out", out.toString(), "a red cube");
            assertEquals("0", r[0], r[2]);
            png[skip] = java.nio.file.Files.readAllBytes(out.resolve("ediff-1.png"));
        }
        assertTrue(!java.util.Arrays.equals(png[0], png[1]), "skipping a CLIP layer changes the conditioning");
        String[] bundle = ConformanceCommandTest.run("generate", "--clip-skip", "1", "--out", tmp.resolve("b").toString(), "x");
        assertEquals("2", bundle[0], bundle[2]);
        assertTrue(bundle[2].contains("--clip-skip applies to diffusers SDXL and SD3 folders"), bundle[2]);
        String[] bad = ConformanceCommandTest.run("generate", "--memory", "some", "--out", tmp.resolve("c").toString(), "x");
        assertEquals("2", bad[0], bad[2]);
        assertTrue(bad[2].contains("expected resident or lazy, got 'some'"), bad[2]);
    }
}
