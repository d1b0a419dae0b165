package dev.ediff.examples;

import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.Mask;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.StageOptions;
import dev.ediff.core.EDiff;
import dev.ediff.core.GenerationParameters;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The bundled model: generate with every setting the parameters carry, write the PNG, read its
 * text back, parse it, regenerate: the same images, bit for bit.
 */
class ParametersRoundTripTest {

    @Test
    void aPngsParametersRegenerateItsImage(@TempDir Path tmp) throws Exception {
        BufferedImage styleImage = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                styleImage.setRGB(x, y, x < 16 ? 0xd03020 : 0x2040c0);
            }
        }
        Path style = tmp.resolve("style.png");
        ImageIO.write(styleImage, "png", style.toFile());
        try (EDiff ediff = EDiff.openDefault()) {
            Request request = Request.prompt("a red circle above a blue square").negativePrompt("green").seed(21).count(2)
                    .style(style, 0.8)
                    .paint("red circle", Mask.ellipse(0.2, 0.05, 0.8, 0.5), 0.5)
                    .stage("base", StageOptions.defaults().sampler(Samplers.dpmSolverPP2MSde(0.8, 1.0), 6)
                            .guidance(Guidance.of(4.0).withRescale(0.5).limitedTo(NoiseInterval.of(0.1, 40))))
                    .stage("sr64", StageOptions.defaults().sampler(Samplers.eulerAncestral(), 3).augmentationSigma(0.05))
                    .build();
            Generation g = ediff.generate(request);
            Path png = tmp.resolve("out.png");
            PngFiles.write(png, Images.toImage(g.sample(0)), g.parameters(), false);
            Map<String, String> text = PngFiles.readText(png);
            assertEquals(g.parameters(), text);
            assertEquals("dpmpp_2m_sde(eta=0.8,s_noise=1.0)", text.get("base.sampler"));
            assertEquals("0.05", text.get("sr64.augmentation_sigma"));

            Generation again = ediff.generate(GenerationParameters.parse(text).style(style, 0.8).build());
            for (int i = 0; i < 2; i++) {
                assertEquals(g.sample(i).seed(), again.sample(i).seed());
                assertArrayEquals(g.sample(i).data(), again.sample(i).data(), "image " + i);
            }
        }
    }
}
