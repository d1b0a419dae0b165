package dev.ediff.core.image;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Sample;
import dev.ediff.api.TensorShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

class ImagesTest {

    @Test
    void resizingKeepsConstantsAndLinearRampsInTheInterior() {
        qt().withExamples(60)
                .forAll(integers().between(2, 40), integers().between(2, 40), integers().between(1, 80), integers().between(1, 80))
                .checkAssert((h, w, nh, nw) -> {
                    double[] constant = new double[2 * h * w];
                    java.util.Arrays.fill(constant, 0.37);
                    for (double v : Resampler.resize(constant, 2, h, w, nh, nw)) {
                        assertEquals(0.37, v, 1e-12);
                    }
                });
    }

    @Test
    void upsamplingALinearRampInterpolatesIt() {
        int w = 16;
        double[] ramp = new double[w];
        for (int x = 0; x < w; x++) {
            ramp[x] = x + 0.5; // value = pixel centre coordinate
        }
        double[] up = Resampler.resize(ramp, 1, 1, w, 1, 2 * w);
        for (int x = 4; x < 2 * w - 4; x++) { // away from the clamped edges
            assertEquals((x + 0.5) / 2, up[x], 1e-12, "x=" + x);
        }
    }

    @Test
    void imagesAndTensorsRoundTrip() {
        double[] t = new double[3 * 5 * 7];
        for (int i = 0; i < t.length; i++) {
            t[i] = Math.round(((i * 37) % 256) - 0.0) / 127.5 - 1;
        }
        BufferedImage img = Images.toImage(new Sample(1, new TensorShape(1, 3, 5, 7), t));
        assertEquals(7, img.getWidth());
        assertEquals(5, img.getHeight());
        assertArrayEquals(t, Images.toTensor(img), 1e-12);
    }

    @Test
    void pngsCarryTheirParametersAndAreNeverLeftHalfWritten(@TempDir Path dir) {
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        Path target = dir.resolve("out.png");
        Map<String, String> params = Map.of("prompt", "a red circle", "seed", "42");
        PngFiles.write(target, img, params, false);
        assertEquals(params, PngFiles.readText(target));
        assertContains(assertThrows(EDiffException.class, () -> PngFiles.write(target, img, Map.of(), false))
                .getMessage(), "already exists");
        PngFiles.write(target, img, Map.of("seed", "43"), true);
        assertEquals(Map.of("seed", "43"), PngFiles.readText(target));
        assertThrows(EDiffException.class, () -> PngFiles.write(dir.resolve("bad.png"),
                new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), null, false));
        try (var files = Files.list(dir)) {
            assertEquals(java.util.List.of("out.png"), files.map(p -> p.getFileName().toString()).toList(),
                    "a failed write leaves no file behind");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void imagesDeclaringHugeSizesAreRefusedBeforeDecoding(@TempDir Path dir) throws Exception {
        Path bomb = dir.resolve("bomb.png");
        Files.write(bomb, pngHeaderOnly(100_000, 100_000));
        assertTrue(Files.size(bomb) < 100);
        assertContains(assertThrows(EDiffException.class, () -> Images.read(bomb, 16)).getMessage(),
                "bomb.png", "100000x100000", "limit");
        Path tiny = dir.resolve("tiny.png");
        ImageIO.write(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB), "png", tiny.toFile());
        assertContains(assertThrows(EDiffException.class, () -> Images.read(tiny, 16)).getMessage(),
                "1x1", "at least 16");
        Path text = Files.writeString(dir.resolve("notes.png"), "not an image");
        assertContains(assertThrows(EDiffException.class, () -> Images.read(text, 16)).getMessage(),
                "notes.png", "not in a readable image format");
        assertContains(assertThrows(EDiffException.class, () -> Images.read(dir.resolve("none.png"), 16)).getMessage(),
                "does not exist");
        Path ok = dir.resolve("ok.png");
        ImageIO.write(new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB), "png", ok.toFile());
        assertEquals(40, Images.read(ok, 16).getWidth());
    }

    @Test
    void centerCropTakesTheMiddleSquare() {
        BufferedImage img = new BufferedImage(30, 10, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 10; y++) {
            for (int x = 10; x < 20; x++) {
                img.setRGB(x, y, 0xFFFFFF); // the middle third is white
            }
        }
        double[] t = Images.shorterSideCenterCrop(img, 10);
        for (double v : t) {
            assertEquals(1.0, v, 1e-9);
        }
    }

    /** A PNG signature and an IHDR chunk declaring w x h, and nothing else. */
    static byte[] pngHeaderOnly(int w, int h) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        DataOutputStream c = new DataOutputStream(chunk);
        c.writeBytes("IHDR");
        c.writeInt(w);
        c.writeInt(h);
        c.write(new byte[] {8, 2, 0, 0, 0});
        byte[] body = chunk.toByteArray();
        out.writeInt(13);
        out.write(body);
        CRC32 crc = new CRC32();
        crc.update(body);
        out.writeInt((int) crc.getValue());
        return bytes.toByteArray();
    }
}
