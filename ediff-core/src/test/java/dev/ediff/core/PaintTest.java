package dev.ediff.core;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Guidance;
import dev.ediff.api.Mask;
import dev.ediff.api.PhraseSpan;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static dev.ediff.core.Generators.decimals;
import static dev.ediff.core.TestSupport.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

class PaintTest {

    /** Splits on spaces; token i of the padded sequence is word i (no start token), padded to {@code length}. */
    static final class WordEncoder implements TextEncoder {
        final String role;
        final int length;

        WordEncoder(String role, int length) {
            this.role = role;
            this.length = length;
        }

        @Override
        public String role() {
            return role;
        }

        @Override
        public TextEncoding encode(String text) {
            return new TextEncoding(Conditioning.of(role + "_tokens", Tensor.filled(text.length(), 1, 1)), 1, "");
        }

        @Override
        public TextEncoding off() {
            return new TextEncoding(Conditioning.of(role + "_tokens", Tensor.filled(0, 1, 1)), 0, "");
        }

        @Override
        public int tokenLength() {
            return length;
        }

        @Override
        public PhraseSpan locate(String prompt, String phrase) {
            List<String> words = Arrays.asList(prompt.split(" "));
            List<String> p = Arrays.asList(phrase.split(" "));
            int at = java.util.Collections.indexOfSubList(words, p);
            if (at < 0) {
                throw new IllegalArgumentException("the painted phrase '" + phrase + "' is not in the prompt \"" + prompt + "\"");
            }
            if (at + p.size() > length) {
                throw new IllegalArgumentException("the painted phrase '" + phrase + "' is cut off");
            }
            return new PhraseSpan(at, at + p.size());
        }
    }

    /** Records the attention bias of every branch it sees. */
    static final class BiasRecorder implements Expert {
        final List<Tensor> seen = new ArrayList<>();

        @Override
        public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
            seen.add(cond.get(Conditioning.ATTENTION_BIAS).orElse(null));
            Arrays.fill(out, 0);
        }
    }

    static EDiff pipeline(Expert e, Set<String> roles) {
        Stage base = Stage.builder("base", RoutingTree.single(e), TensorShape.of(3, 2, 4))
                .defaultSampler(Samplers.euler(), 1).roles(roles).build();
        return EDiff.builder().stage(base).textEncoder(new WordEncoder("t5", 6)).textEncoder(new WordEncoder("clip", 5)).build();
    }

    @Test
    void theBiasTensorMatchesAHandComputedOne() {
        BiasRecorder rec = new BiasRecorder();
        rec.seen.clear();
        Set<String> roles = Set.of("t5_tokens", "clip_tokens", Conditioning.ATTENTION_BIAS);
        try (EDiff e = pipeline(rec, roles)) {
            // canvas 4 wide x 2 high; left half for "red circle", top row for "blue" (overlapping at top-left)
            e.generate(Request.prompt("a red circle and blue square").seed(1).guidance(Guidance.of(3))
                    .paint("red circle", Mask.rectangle(0, 0, 0.5, 1), 0.5)
                    .paint("blue", Mask.rectangle(0, 0, 1, 0.5), 0.25).build());
        }
        assertEquals(1, rec.seen.size(), "one batched call: uncond and cond together");
        Tensor both = rec.seen.get(0);
        assertArrayEquals(new long[] {2, 8, 11}, both.shape(), "[2 branches, 2x4 pixels, 6 T5 + 5 CLIP tokens]");
        float[] expected = new float[8 * 11];
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 4; x++) {
                int p = y * 4 + x;
                if (x < 2) { // "red circle": words 1..2 -> T5 columns 1,2 and CLIP columns 6+1, 6+2
                    for (int t : new int[] {1, 2, 7, 8}) {
                        expected[p * 11 + t] += 0.5f;
                    }
                }
                if (y < 1) { // "blue": word 4 -> T5 column 4 and CLIP column 6 + 4
                    expected[p * 11 + 4] += 0.25f;
                    expected[p * 11 + 10] += 0.25f;
                }
            }
        }
        float[] got = both.toArray();
        for (int i = 0; i < 88; i++) {
            assertEquals(0f, got[i], "the unconditional branch has no bias (index " + i + ")");
        }
        assertArrayEquals(expected, Arrays.copyOfRange(got, 88, 176), 1e-6f);
    }

    @Test
    void paintingErrorsNameThePhraseAndThePrompt() {
        Set<String> roles = Set.of("t5_tokens", "clip_tokens", Conditioning.ATTENTION_BIAS);
        try (EDiff e = pipeline(new BiasRecorder(), roles)) {
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("a red circle")
                    .paint("green star", Mask.rectangle(0, 0, 1, 1), 0.4).build())).getMessage(),
                    "'green star'", "\"a red circle\"");
            BufferedImage black = new BufferedImage(10, 10, BufferedImage.TYPE_BYTE_GRAY);
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("a red circle")
                    .paint("red", Mask.image(black), 0.4).build())).getMessage(), "'red'", "empty", "4x2");
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("a b c d e f g h")
                    .clip(false).paint("g h", Mask.rectangle(0, 0, 1, 1), 0.4).build())).getMessage(), "cut off");
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("a b c d e f")
                    .paint("f", Mask.rectangle(0, 0, 1, 1), 0.4).build())).getMessage(), "cut off");
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("a red circle")
                    .t5(false).clip(false).paint("red", Mask.rectangle(0, 0, 1, 1), 0.4).build())).getMessage(),
                    "switched on");
        }
        assertContains(assertThrows(IllegalArgumentException.class, () -> Request.prompt("x")
                .paint("x", Mask.rectangle(0, 0, 1, 1), Double.NaN)).getMessage(), "weight", "NaN");
        assertContains(assertThrows(IllegalArgumentException.class, () -> Request.prompt("x")
                .paint("x", Mask.rectangle(0, 0, 1, 1), -0.1)).getMessage(), "weight", "-0.1");
        assertThrows(IllegalArgumentException.class, () -> Mask.rectangle(0.5, 0, 0.5, 1));
        assertThrows(IllegalArgumentException.class, () -> Mask.ellipse(0, 0, 1.5, 1));
        try (EDiff e = pipeline(new BiasRecorder(), Set.of("t5_tokens", "clip_tokens"))) {
            assertContains(assertThrows(IllegalArgumentException.class, () -> e.generate(Request.prompt("a red circle")
                    .paint("red", Mask.rectangle(0, 0, 1, 1), 0.4).build())).getMessage(),
                    "stage 'base'", "no attention-bias input");
        }
    }

    @Test
    void anUnpaintedRequestSendsNoBias() {
        BiasRecorder rec = new BiasRecorder();
        try (EDiff e = pipeline(rec, Set.of("t5_tokens", "clip_tokens", Conditioning.ATTENTION_BIAS))) {
            e.generate(Request.prompt("a red circle").seed(1).build());
        }
        assertEquals(java.util.Collections.singletonList(null), rec.seen);
    }

    @Test
    void ellipsesCoverTheirArea() {
        qt().withExamples(50).forAll(decimals(0.05, 0.45), decimals(0.05, 0.45), integers().between(32, 96))
                .checkAssert((rx, ry, size) -> {
                    float[] m = Mask.ellipse(0.5 - rx, 0.5 - ry, 0.5 + rx, 0.5 + ry).rasterize(size, size);
                    double area = 0;
                    for (float v : m) {
                        area += v;
                        assertTrue(v >= 0 && v <= 1);
                    }
                    area /= (double) size * size;
                    assertEquals(Math.PI * rx * ry, area, 4.0 / size * (rx + ry) + 1e-3);
                });
    }

    @Test
    void rectanglesImagesAndColourKeysRasterize() {
        assertArrayEquals(new float[] {1, 0.5f, 0, 0}, Mask.rectangle(0, 0, 0.375, 1).rasterize(4, 1), 1e-6f);
        BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, 0xFFFFFF);
        img.setRGB(1, 0, 0xFFFFFF);
        img.setRGB(2, 1, 0x00FF00);
        // left cell: two white pixels of four; right cell: one green pixel (luminance 0.587) of four
        assertArrayEquals(new float[] {0.5f, 0.587f / 4}, Mask.image(img).rasterize(2, 1), 1e-6f);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 1, 0}, Mask.colorKey(img, 0x00FF00).rasterize(4, 2), 1e-6f);
    }

    /**
     * A fixture cross-attention layer as the bundle format prescribes it: logits {@code QK^T} plus
     * {@code bias * log(1 + sigma) * max(QK^T)}. Painting a token raises its attention mass inside the
     * mask, leaves pixels outside alone, and the logit increase scales with {@code log(1 + sigma)}.
     */
    @Test
    void aPaintedTokenGainsAttentionInsideItsMask() {
        int pixels = 8;
        int tokens = 5;
        java.util.Random r = new java.util.Random(7);
        double[][] logits = new double[pixels][tokens];
        double max = Double.NEGATIVE_INFINITY;
        for (double[] row : logits) {
            for (int t = 0; t < tokens; t++) {
                row[t] = r.nextGaussian();
                max = Math.max(max, row[t]);
            }
        }
        float[] mask = Mask.rectangle(0, 0, 0.5, 1).rasterize(pixels, 1); // pixels 0..3 inside
        int token = 2;
        for (double sigma : new double[] {0.1, 1, 10}) {
            for (int p = 0; p < pixels; p++) {
                double[] plain = softmax(logits[p], null, 0, 0);
                double[] painted = softmax(logits[p], mask, p, Math.log1p(sigma) * max * 0.4);
                if (p < 4) {
                    assertTrue(painted[token] > plain[token], "more attention inside the mask at sigma " + sigma);
                    double ratio = (painted[token] / painted[0]) / (plain[token] / plain[0]);
                    assertEquals(Math.exp(0.4 * Math.log1p(sigma) * max), ratio, 1e-9, "log(1 + sigma) scaling");
                } else {
                    assertArrayEquals(plain, painted, 1e-15, "pixels outside the mask are untouched");
                }
            }
        }
    }

    private static double[] softmax(double[] logits, float[] mask, int pixel, double scale) {
        double[] z = logits.clone();
        if (mask != null) {
            z[2] += mask[pixel] * scale;
        }
        double m = Arrays.stream(z).max().orElseThrow();
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            z[i] = Math.exp(z[i] - m);
            sum += z[i];
        }
        for (int i = 0; i < z.length; i++) {
            z[i] /= sum;
        }
        return z;
    }
}
