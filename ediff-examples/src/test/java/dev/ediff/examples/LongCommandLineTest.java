package dev.ediff.examples;

import dev.ediff.core.EDiff;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime 1.29 (and the 1.30 engine) overflows a default thread stack while creating its
 * environment when the process command line is long: it matches {@code /proc/self/cmdline} with a
 * recursive regular expression (docs/onnxruntime-1.29-long-cmdline.md), and the JVM dies with
 * SIGSEGV (exit 139). The SDK creates the environment on a thread with a stack sized for the command
 * line. A child JVM with a 16 KB and a 100 KB command line (one argument: Linux allows 128 KB per
 * argument) opens the default model and generates one image, which must be exactly the image this
 * process (short command line) makes for the same request.
 */
class LongCommandLineTest {

    private static int[] expected;
    private static int width;

    @TempDir
    Path tmp;

    @BeforeAll
    static void generateHere() {
        try (EDiff ediff = EDiff.openDefault()) {
            BufferedImage image = ediff.generate(LongCommandLineChild.request()).sample(0).toImage();
            width = image.getWidth();
            expected = image.getRGB(0, 0, width, image.getHeight(), null, 0, width);
        }
        assertTrue(java.util.Arrays.stream(expected).distinct().count() > 1, "the reference image is not one flat colour");
    }

    @ParameterizedTest
    @ValueSource(ints = {16_000, 100_000})
    void aChildJvmWithALongCommandLineGeneratesTheSameImage(int padding) throws IOException, InterruptedException {
        Path png = tmp.resolve("child.png");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-Xmx256m", "-Dediff.padding=" + "x".repeat(padding),
                "-cp", System.getProperty("java.class.path"), LongCommandLineChild.class.getName(), png.toString());
        assertTrue(String.join(" ", command).length() > padding, "the command line holds the padding");
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM finished");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "exit code of the child JVM (139 = SIGSEGV); its output: " + output);
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "the child wrote a PNG file; its output: " + output);
        assertEquals(width, image.getWidth());
        assertArrayEquals(expected, image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth()),
                "the child's image is the one a short command line makes");
    }
}
