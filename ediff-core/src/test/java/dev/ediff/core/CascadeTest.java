package dev.ediff.core;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.Request;
import dev.ediff.api.StageOptions;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.core.image.Resampler;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CascadeTest {

    /** A text encoder whose one-number "embedding" is a hash of the text; off is 0. */
    static final class HashEncoder implements TextEncoder {
        final String role;
        final AtomicInteger calls = new AtomicInteger();
        final int maxChars;

        HashEncoder(String role, int maxChars) {
            this.role = role;
            this.maxChars = maxChars;
        }

        @Override
        public String role() {
            return role;
        }

        @Override
        public TextEncoding encode(String text) {
            calls.incrementAndGet();
            String kept = text.length() > maxChars ? text.substring(0, maxChars) : text;
            float v = 1 + Math.floorMod(kept.hashCode(), 1000) / 1000f;
            return new TextEncoding(Conditioning.of(role + "_tokens", Tensor.filled(v, 1, 1)), kept.length(),
                    text.substring(kept.length()));
        }

        @Override
        public TextEncoding off() {
            return new TextEncoding(Conditioning.of(role + "_tokens", Tensor.filled(0, 1, 1)), 0, "");
        }
    }

    /** Style embedding: the mean brightness of the image; off is 0. */
    static final class MeanEncoder implements ImageEncoder {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public Tensor encode(BufferedImage image) {
            calls.incrementAndGet();
            return Tensor.filled((image.getRGB(0, 0) & 0xFF) / 255f + 0.5f, 1, 1);
        }

        @Override
        public Tensor off() {
            return Tensor.filled(0, 1, 1);
        }
    }

    /** D(x) = sum of the conditioning scalars, everywhere: each condition visibly moves the result. */
    static Expert conditionSum(String name) {
        return new Expert() {
            @Override
            public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
                int d = shape.sampleSize();
                for (int b = 0; b < shape.batch(); b++) {
                    double v = 0;
                    double w = 1;
                    for (String role : List.of("t5_tokens", "clip_tokens", Conditioning.IMAGE_EMBEDDING)) {
                        w *= 3;
                        Tensor t = cond.get(role).orElse(null);
                        if (t != null) {
                            v += w * t.get(b);
                        }
                    }
                    for (int i = 0; i < d; i++) {
                        out[b * d + i] = v;
                    }
                }
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    /** D = the low-resolution input: the SR stage then returns it exactly (last step to sigma 0 returns D). */
    static Expert echoLowRes() {
        return (x, shape, sigma, cond, out) -> {
            Tensor low = cond.get(Conditioning.LOW_RES).orElseThrow();
            for (int i = 0; i < out.length; i++) {
                out[i] = low.get(i);
            }
        };
    }

    static EDiff cascade(HashEncoder t5, HashEncoder clip, MeanEncoder image, double sigmaAug) {
        Stage base = Stage.builder("base", RoutingTree.single(conditionSum("base")), TensorShape.of(3, 4, 4))
                .defaultSampler(Samplers.euler(), 3).build();
        Stage sr = Stage.builder("sr", RoutingTree.single(echoLowRes()), TensorShape.of(3, 8, 8))
                .defaultSampler(Samplers.dpmSolverPP2M(), 4).superResolution(sigmaAug).build();
        return EDiff.builder().name("fixture").stage(base).stage(sr).textEncoder(t5).textEncoder(clip)
                .imageEncoder(image).build();
    }

    @Test
    void everyToggleAndTheStyleChangeTheOutputAndBothOffIsUnconditional() {
        HashEncoder t5 = new HashEncoder("t5", 100);
        HashEncoder clip = new HashEncoder("clip", 100);
        MeanEncoder image = new MeanEncoder();
        BufferedImage style = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        style.setRGB(0, 0, 0x808080);
        List<double[]> outputs = new ArrayList<>();
        try (EDiff e = cascade(t5, clip, image, 0.0)) {
            for (boolean useT5 : new boolean[] {true, false}) {
                for (boolean useClip : new boolean[] {true, false}) {
                    for (boolean styled : new boolean[] {false, true}) {
                        Request.Builder r = Request.prompt("a red circle").seed(1).untilStage("base").t5(useT5).clip(useClip);
                        if (styled) {
                            r.style(style, 1.0);
                        }
                        Generation g = e.generate(r.build());
                        double v = g.sample(0).get(0);
                        double expect = (useT5 ? 3 * t5Value("a red circle") : 0) + (useClip ? 9 * clipValue() : 0)
                                + (styled ? 27 * (0x80 / 255.0 + 0.5) : 0);
                        // D is constant in x, so every sampler lands exactly on it
                        assertEquals(expect, v, 1e-5, "t5=" + useT5 + " clip=" + useClip + " style=" + styled);
                        outputs.add(g.sample(0).data());
                        assertEquals(1, g.stages().size());
                    }
                }
            }
        }
        for (int i = 0; i < outputs.size(); i++) {
            for (int j = i + 1; j < outputs.size() - 2; j++) {
                assertFalse(java.util.Arrays.equals(outputs.get(i), outputs.get(j)), i + " vs " + j);
            }
        }
        assertEquals(1, t5.calls.get(), "the prompt is encoded once per encoder and then cached");
        assertEquals(1, image.calls.get(), "the style image is embedded once and then cached");
    }

    private static double t5Value(String text) {
        return 1 + Math.floorMod(text.hashCode(), 1000) / 1000f;
    }

    private static double clipValue() {
        return t5Value("a red circle");
    }

    @Test
    void textAndStyleGuidanceFollowTheDocumentedFormula() {
        HashEncoder t5 = new HashEncoder("t5", 100);
        HashEncoder clip = new HashEncoder("clip", 100);
        MeanEncoder image = new MeanEncoder();
        BufferedImage style = new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB);
        try (EDiff e = cascade(t5, clip, image, 0.0)) {
            Generation g = e.generate(Request.prompt("a blue square").negativePrompt("blurry").seed(3)
                    .guidance(Guidance.of(4)).style(style, 2.5).untilStage("base").build());
            double du = 3 * t5Value("blurry") + 9 * t5Value("blurry");
            double dc = 3 * t5Value("a blue square") + 9 * t5Value("a blue square");
            double dcs = dc + 27 * 0.5;
            assertEquals(du + 4 * (dc - du) + 2.5 * (dcs - dc), g.sample(0).get(0), 1e-4);
        }
    }

    @Test
    void theSuperResolutionStageSeesTheUpsampledBaseOutputNoisedToItsAugmentationSigma() {
        try (EDiff e = cascade(new HashEncoder("t5", 100), new HashEncoder("clip", 100), new MeanEncoder(), 0.0)) {
            Generation g = e.generate(Request.prompt("a green star").seed(5).count(2).keepAllStages(true).build());
            assertEquals(List.of("base", "sr"), g.stages().stream().map(s -> s.stage()).toList());
            for (int b = 0; b < 2; b++) {
                double[] low = g.stage("base").samples().get(b).data();
                double[] up = Resampler.resize(low, 3, 4, 4, 8, 8);
                assertArrayEquals(up, g.sample(b).data(), 1e-5);
                assertEquals(8, g.sample(b).shape().width());
            }
            assertEquals("dpmpp_2m", g.stage("sr").sampler());
            assertEquals(4, g.stage("sr").steps());

            Generation noisy = e.generate(Request.prompt("a green star").seed(5).count(2)
                    .stage("sr", StageOptions.defaults().augmentationSigma(0.3).steps(2)).build());
            assertTrue(noisy.stage("base").samples().isEmpty(), "intermediate samples are dropped unless asked for");
            assertEquals(2, noisy.stage("sr").steps());
            double[] clean = g.sample(0).data();
            double[] aug = noisy.sample(0).data();
            double var = 0;
            for (int i = 0; i < clean.length; i++) {
                var += (aug[i] - clean[i]) * (aug[i] - clean[i]);
            }
            double std = Math.sqrt(var / clean.length);
            assertTrue(std > 0.2 && std < 0.4, "the low-res input carries noise of std ~0.3, got " + std);
            Generation single = e.generate(Request.prompt("a green star").seed(6)
                    .stage("sr", StageOptions.defaults().augmentationSigma(0.3).steps(2)).build());
            assertArrayEquals(noisy.sample(1).data(), single.sample(0).data(), "image 1 of a batch equals its seed alone");
        }
    }

    @Test
    void truncationIsReportedAndBadRequestsAreRefused() {
        try (EDiff e = cascade(new HashEncoder("t5", 10), new HashEncoder("clip", 100), new MeanEncoder(), 0.0)) {
            Generation g = e.generate(Request.prompt("a small red circle above a blue square").untilStage("base").build());
            assertEquals(1, g.truncations().size());
            assertEquals("t5", g.truncations().get(0).encoder());
            assertEquals("d circle above a blue square", g.truncations().get(0).droppedText());
            assertEquals("a small red circle above a blue square", g.parameters().get("prompt"));
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> e.generate(Request.prompt("x").untilStage("sr256").build())).getMessage(),
                    "unknown stage 'sr256'", "[base, sr]");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> e.generate(Request.prompt("x").stage("nope", StageOptions.defaults()).build())).getMessage(),
                    "unknown stage 'nope'");
            assertContains(assertThrows(dev.ediff.api.EDiffException.class, () -> e.generate(Request.prompt("x")
                    .style(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB), 1).build())).getMessage(),
                    "1x1", "at least 16");
            assertContains(assertThrows(dev.ediff.api.EDiffException.class, () -> e.generate(Request.prompt("x")
                    .style(java.nio.file.Path.of("/no/such/style.png"), 1).build())).getMessage(), "style.png", "does not exist");
            Generation empty = e.generate(Request.prompt("").untilStage("base").build());
            assertEquals(1, empty.samples().size(), "an empty prompt is a documented, valid request");
        }
        Stage noStyle = Stage.builder("base", RoutingTree.single(conditionSum("b")), TensorShape.of(3, 4, 4))
                .roles(Set.of("t5_tokens")).build();
        try (EDiff e = EDiff.builder().stage(noStyle).textEncoder(new HashEncoder("t5", 9)).build()) {
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("x")
                    .style(new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB), 1).build())).getMessage(),
                    "no image encoder");
        }
        assertContains(assertThrows(IllegalArgumentException.class, () -> EDiff.builder()
                .stage(Stage.builder("a", RoutingTree.single(echoLowRes()), TensorShape.of(3, 4, 4)).build())
                .stage(Stage.builder("b", RoutingTree.single(echoLowRes()), TensorShape.of(3, 8, 8)).build()).build())
                .getMessage(), "stage 'b'", "super-resolution");
    }
}
