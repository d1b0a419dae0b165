package dev.ediff.core;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.Mask;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.StageOptions;
import dev.ediff.api.StageResult;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Generation parameters say what ran, per stage, and parse back into a request that regenerates the images. */
class GenerationParametersTest {

    /** D = x / 2 + the sum of the text and style scalars: depends on x, the noise and every condition. */
    static Expert halfPlusConditions(String name) {
        return new Expert() {
            @Override
            public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
                int d = shape.sampleSize();
                for (int b = 0; b < shape.batch(); b++) {
                    double c = 0;
                    for (String role : List.of("t5_tokens", "clip_tokens", Conditioning.IMAGE_EMBEDDING)) {
                        Tensor t = cond.get(role).orElse(null);
                        c += t == null ? 0 : t.get(b);
                    }
                    for (int i = 0; i < d; i++) {
                        out[b * d + i] = 0.5 * x[b * d + i] + c;
                    }
                }
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    /** D = 0.6 x + 0.4 low_res. */
    static Expert towardsLowRes() {
        return (x, shape, sigma, cond, out) -> {
            Tensor low = cond.get(Conditioning.LOW_RES).orElseThrow();
            for (int i = 0; i < out.length; i++) {
                out[i] = 0.6 * x[i] + 0.4 * low.get(i);
            }
        };
    }

    static EDiff cascade() {
        Stage base = Stage.builder("base", RoutingTree.builder().expert(NoiseInterval.below(1), halfPlusConditions("lo"))
                        .expert(NoiseInterval.atLeast(1), halfPlusConditions("hi")).build(), TensorShape.of(3, 4, 4))
                .defaultSampler(Samplers.dpmSolverPP2M(), 5).defaultGuidance(Guidance.of(2.0)).build();
        Stage sr = Stage.builder("sr", RoutingTree.single(towardsLowRes()), TensorShape.of(3, 8, 8))
                .defaultSampler(Samplers.euler(), 3).superResolution(0.2).build();
        return EDiff.builder().name("fixture").stage(base).stage(sr)
                .textEncoder(new CascadeTest.HashEncoder("t5", 100)).textEncoder(new CascadeTest.HashEncoder("clip", 100))
                .imageEncoder(new CascadeTest.MeanEncoder()).build();
    }

    static void assertSameImages(Generation a, Generation b) {
        assertEquals(a.stages().size(), b.stages().size());
        for (int s = 0; s < a.stages().size(); s++) {
            StageResult x = a.stages().get(s);
            StageResult y = b.stages().get(s);
            assertEquals(x.samples().size(), y.samples().size());
            assertArrayEquals(x.sigmas(), y.sigmas());
            for (int i = 0; i < x.samples().size(); i++) {
                Sample p = x.samples().get(i);
                Sample q = y.samples().get(i);
                assertEquals(p.seed(), q.seed());
                assertArrayEquals(p.data(), q.data(), x.stage() + " image " + i);
            }
        }
    }

    @Test
    void parametersRegenerateTheSameImagesBitForBit(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        BufferedImage style = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        style.setRGB(0, 0, 0x505050);
        java.nio.file.Path styleFile = tmp.resolve("style.png");
        javax.imageio.ImageIO.write(style, "png", styleFile.toFile());
        try (EDiff e = cascade()) {
            // no seed: the drawn one is recorded; stochastic samplers with options; every SR setting changed
            Request request = Request.prompt("a red circle").negativePrompt("blue").count(3).clip(false)
                    .style(styleFile, 1.5)
                    .sampler(Samplers.eulerAncestral(0.7, 1.1), 6)
                    .schedule(Schedules.exponential(0.01, 30))
                    .guidance(Guidance.of(4.0).withRescale(0.3).limitedTo(NoiseInterval.of(0.05, 10)))
                    .stage("sr", StageOptions.defaults().sampler(Samplers.heun(0.4, 0.01, 5, 1.01), 4)
                            .guidance(Guidance.of(1.5)).augmentationSigma(0.07))
                    .keepAllStages(true).build();
            Generation first = e.generate(request);
            Map<String, String> p = first.parameters();
            assertEquals("euler_ancestral(eta=0.7,s_noise=1.1)", p.get("base.sampler"));
            assertEquals("heun(s_churn=0.4,s_noise=1.01,s_tmax=5.0,s_tmin=0.01)", p.get("sr.sampler"));
            assertEquals("0.3", p.get("base.guidance_rescale"));
            assertEquals("[0.05, 10.0)", p.get("base.guidance_interval"));
            assertEquals("0.07", p.get("sr.augmentation_sigma"));
            assertEquals("style.png", p.get("style_image"));

            Request.Builder again = GenerationParameters.parse(p).style(styleFile, 1.5);
            Generation second = e.generate(again.keepAllStages(true).build());
            assertSameImages(first, second);
            assertEquals(p, second.parameters(), "the regenerated parameters are the same");
            Generation other = e.generate(again.seed(Long.parseLong(p.get("seed")) + 1).build());
            assertFalse(java.util.Arrays.equals(first.sample(0).data(), other.sample(0).data()), "the seed matters");
        }
    }

    @Test
    void parametersSayWhatRanNotWhatTheRequestDefaulted() {
        try (EDiff e = cascade()) {
            Generation g = e.generate(Request.prompt("x").seed(1).untilStage("base")
                    .stage("base", StageOptions.defaults().sampler(Samplers.euler(), 6).guidance(Guidance.of(7.0))).build());
            Map<String, String> p = g.parameters();
            assertEquals("euler", p.get("sampler"));
            assertEquals("6", p.get("steps"));
            assertEquals("7.0", p.get("guidance"));
            assertEquals("euler", p.get("base.sampler"));
            assertEquals("base", p.get("stages"));
            assertFalse(p.containsKey("sr.sampler"));
        }
    }

    @Test
    void settingTheFirstStageTwiceFailsClearly() {
        try (EDiff e = cascade()) {
            Request both = Request.prompt("x").sampler(Samplers.heun())
                    .stage("base", StageOptions.defaults().sampler(Samplers.euler(), 3)).build();
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(both)).getMessage(),
                    "sampler", "first stage 'base'", "set twice");
            Request guidance = Request.prompt("x").guidance(3.0)
                    .stage("base", StageOptions.defaults().guidance(Guidance.of(2.0))).build();
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(guidance)).getMessage(),
                    "guidance", "set twice");
            // a later stage's options never conflict with the request's own settings
            e.generate(Request.prompt("x").seed(2).sampler(Samplers.heun(), 2)
                    .stage("sr", StageOptions.defaults().sampler(Samplers.euler(), 2)).build());
        }
    }

    @Test
    void paintedWordsRoundTripThroughTheParameters() {
        Mask image = Mask.image(gradient());
        Request r = Request.prompt("a red circle").seed(5)
                .paint("red", Mask.rectangle(0.1, 0.2, 0.55, 0.9), 0.4)
                .paint("circle", Mask.ellipse(0.13, 0.07, 0.71, 0.33), 0.25)
                .paint("a", image, 1.0).build();
        Map<String, String> p = PaintTest.pipeline(new PaintTest.BiasRecorder(),
                java.util.Set.of("t5_tokens", "clip_tokens", Conditioning.ATTENTION_BIAS)).generate(r).parameters();
        Request back = GenerationParameters.parse(p).build();
        assertEquals(3, back.paints().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(r.paints().get(i).phrase(), back.paints().get(i).phrase());
            assertEquals(r.paints().get(i).weight(), back.paints().get(i).weight());
            for (int[] size : new int[][] {{4, 2}, {7, 5}, {32, 32}}) {
                assertArrayEquals(r.paints().get(i).mask().rasterize(size[0], size[1]),
                        back.paints().get(i).mask().rasterize(size[0], size[1]), "paint " + i);
            }
        }
    }

    static BufferedImage gradient() {
        BufferedImage img = new BufferedImage(13, 9, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 9; y++) {
            for (int x = 0; x < 13; x++) {
                int v = (x * 19 + y * 7) % 256;
                img.setRGB(x, y, (v << 16) | ((255 - v) << 8) | (v / 2));
            }
        }
        return img;
    }

    @Test
    void whatTextCannotCarryIsRefusedAndBadValuesAreNamed() {
        try (EDiff e = cascade()) {
            Map<String, String> p = e.generate(Request.prompt("x").seed(1).untilStage("base")
                    .initialNoise(new double[48]).build()).parameters();
            assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationParameters.parse(p)).getMessage(),
                    "initial_noise", "cannot be regenerated");
            Map<String, String> ok = e.generate(Request.prompt("x").seed(1).untilStage("base").build()).parameters();
            Map<String, String> bad = new java.util.LinkedHashMap<>(ok);
            bad.put("base.sampler", "warp_drive");
            assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationParameters.parse(bad))
                    .getMessage(), "'base.sampler'", "unknown sampler 'warp_drive'", "euler");
            bad.put("base.sampler", "heun(s_spin=1)");
            assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationParameters.parse(bad))
                    .getMessage(), "has no option 's_spin'", "s_churn");
            bad.remove("base.sigmas");
            bad.put("base.sampler", "heun");
            assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationParameters.parse(bad))
                    .getMessage(), "no 'base.sigmas'");
        }
    }
}
