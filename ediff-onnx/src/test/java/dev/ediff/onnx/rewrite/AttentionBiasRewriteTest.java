package dev.ediff.onnx.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import dev.ediff.api.EDiffException;
import dev.ediff.onnx.rewrite.Graphs.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AttentionBiasRewriteTest {

    @TempDir
    Path cache;

    /**
     * The three exporter patterns of tools/rewrite/make_graphs.py: the sites are exactly the two
     * cross-attentions (attn2 at 8x8, attn3 at 4x4), a zero bias changes no bit, and a bias gives
     * PyTorch's output of the same module with the bias added in its attention.
     */
    @ParameterizedTest
    @ValueSource(strings = {"classic", "classic_opset18", "sdpa", "batched"})
    void patternsMatchThePyTorchReference(String style) throws Exception {
        Path dir = Graphs.resource("rewrite");
        Path model = dir.resolve(style + ".onnx");
        RewrittenModel r = AttentionBiasRewrite.defaults().ensure(model, cache);
        assertEquals(2, r.sites().size(), r.sites().toString());
        assertTrue(r.sites().get(0).product().startsWith("/attn2/"), r.sites().toString());
        assertTrue(r.sites().get(1).product().startsWith("/attn3/"), r.sites().toString());
        assertEquals("attention_bias", r.biasInput());
        assertEquals("sigma", r.sigmaInput());

        Array sample = Graphs.npy(dir.resolve("sample.npy"));
        Array text = Graphs.npy(dir.resolve("encoder_hidden_states.npy"));
        Array bias = Graphs.npy(dir.resolve("bias.npy"));
        Array sigma = Graphs.npy(dir.resolve("sigma.npy"));
        Map<String, Array> plainIn = Map.of("sample", sample, "encoder_hidden_states", text);
        byte[] original;
        try (OrtSession s = Graphs.open(model)) {
            original = Graphs.run(s, plainIn).get("out_sample");
        }
        try (OrtSession s = Graphs.open(r.path())) {
            Map<String, Array> in = new HashMap<>(plainIn);
            in.put("sigma", sigma);
            in.put("attention_bias", Graphs.filled(0f, bias.shape()));
            assertArrayEquals(original, Graphs.run(s, in).get("out_sample"), "zero bias must change no bit");
            in.put("attention_bias", bias);
            float[] painted = Graphs.floats(Graphs.run(s, in).get("out_sample"));
            assertSiteQueries(model, in, 64, 16);
            String reference = style.startsWith("classic") ? "classic" : style; // same module, opset 17 and 18
            float[] expected = Graphs.npy(dir.resolve(reference + "_painted.npy")).data();
            float[] plain = Graphs.npy(dir.resolve(reference + "_plain.npy")).data();
            double err = 0;
            double effect = 0;
            for (int i = 0; i < expected.length; i++) {
                err = Math.max(err, Math.abs(painted[i] - expected[i]));
                effect = Math.max(effect, Math.abs(expected[i] - plain[i]));
            }
            System.out.printf("%s: |rewritten - PyTorch| max %.2e (the bias moves the output by up to %.3f)%n",
                    style, err, effect);
            assertTrue(err <= 1e-5, style + ": max error " + err);
            assertTrue(effect > 1e-2, "the reference bias must matter: " + effect);
        }
    }

    /** Fixture U-Nets of tools/public_models: one cross-attention each; zero bias bit for bit; paint draws attention. */
    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sd15-fp16", "sd2", "sdxl-base", "sdxl-refiner"})
    void fixtureUNets(String folder) throws Exception {
        Path model = Graphs.resource("diffusers/" + folder + "/unet/model.onnx");
        byte[] before = sha(model);
        AttentionBiasRewrite rewrite = AttentionBiasRewrite.builder().attentionOutputs(true).build();
        RewrittenModel r = rewrite.ensure(model, cache);
        assertFalse(r.cacheHit());
        assertEquals(1, r.sites().size(), r.sites().toString());
        assertTrue(r.sites().get(0).product().contains("attn2"), "the cross-attention, not attn1: " + r.sites());

        int b = 2;
        int h = 8;
        int w = 8;
        int tokens = 7;
        Map<String, Array> in = new HashMap<>();
        try (OrtSession s = Graphs.open(model)) {
            for (var e : s.getInputInfo().entrySet()) {
                long[] shape = ((ai.onnxruntime.TensorInfo) e.getValue().getInfo()).getShape();
                for (int i = 0; i < shape.length; i++) {
                    if (shape[i] < 0) {
                        shape[i] = i == 0 ? b : e.getKey().equals("sample") ? (i == 2 ? h : w) : tokens;
                    }
                }
                Array a = Graphs.random(e.getKey().hashCode(), shape);
                if (e.getKey().equals("timestep")) {
                    a = Graphs.filled(601f, shape);
                }
                in.put(e.getKey(), a);
            }
            byte[] original = Graphs.run(s, in).get(s.getOutputNames().iterator().next());
            String outName = s.getOutputNames().iterator().next();
            try (OrtSession p = Graphs.open(r.path())) {
                in.put("sigma", new Array(new float[] {3f, 3f}, new long[] {b}));
                String token = r.sites().get(0).attention();
                double previous = -1;
                float[] unpainted = null;
                for (float weight : new float[] {0f, 0.5f, 1f, 2f}) {
                    // paint the left half of the image onto token 2
                    float[] bias = new float[b * h * w * tokens];
                    for (int n = 0; n < b; n++) {
                        for (int y = 0; y < h; y++) {
                            for (int x = 0; x < w / 2; x++) {
                                bias[(n * h * w + y * w + x) * tokens + 2] = weight;
                            }
                        }
                    }
                    in.put("attention_bias", new Array(bias, new long[] {b, (long) h * w, tokens}));
                    Map<String, byte[]> out = Graphs.run(p, in);
                    if (weight == 0f) {
                        assertArrayEquals(original, out.get(outName), folder + ": zero bias must change no bit");
                    }
                    if (folder.endsWith("fp16")) {
                        continue;
                    }
                    float[] att = Graphs.floats(out.get(token)); // [B, heads, H*W, T]
                    int heads = att.length / (b * h * w * tokens);
                    double inside = 0;
                    int count = 0;
                    for (int n = 0; n < b; n++) {
                        for (int k = 0; k < heads; k++) {
                            for (int q = 0; q < h * w; q++) {
                                int base = ((n * heads + k) * h * w + q) * tokens;
                                if (q % w < w / 2) {
                                    inside += att[base + 2];
                                    count++;
                                } else if (unpainted != null) {
                                    for (int j = 0; j < tokens; j++) {
                                        assertEquals(unpainted[base + j], att[base + j], 0f, "rows outside the region are unbiased");
                                    }
                                }
                            }
                        }
                    }
                    inside /= count;
                    System.out.printf("%s: weight %.1f, attention on the painted token inside the region %.4f%n",
                            folder, weight, inside);
                    assertTrue(inside > previous, folder + ": mass must rise with the weight: " + inside + " after " + previous);
                    previous = inside;
                    if (weight == 0f) {
                        unpainted = att;
                    }
                }
                if (!folder.endsWith("fp16")) {
                    assertSamplingRunUnchanged(s, p, in, outName);
                }
            }
        }
        assertArrayEquals(before, sha(model), "the user's file must not change");
        RewrittenModel again = rewrite.ensure(model, cache);
        assertTrue(again.cacheHit());
        assertEquals(r.path(), again.path());
        assertEquals(r.sites(), again.sites());
        assertNotEquals(model.toAbsolutePath(), r.path().toAbsolutePath());
    }

    @Test
    void jointAttentionIsRefusedWithTheReason() {
        Path model = Graphs.resource("diffusers/sd3/transformer/model.onnx");
        EDiffException e = assertThrows(EDiffException.class, () -> AttentionBiasRewrite.defaults().ensure(model, cache));
        assertTrue(e.getMessage().contains(model.toString()) && e.getMessage().contains("joint"), e.getMessage());
        assertEquals(0, cache.toFile().list().length, "nothing written");
    }

    /** A com.microsoft.MultiHeadAttention cross-attention gets the term through its attention_bias input. */
    @Test
    void fusedMultiHeadAttentionTakesTheBias() throws Exception {
        Path dir = Graphs.resource("rewrite");
        Path model = dir.resolve("fused_mha.onnx");
        RewrittenModel r = AttentionBiasRewrite.defaults().ensure(model, cache);
        assertEquals(1, r.sites().size(), r.sites().toString());
        Array bias = Graphs.npy(dir.resolve("bias.npy"));
        Map<String, Array> in = new HashMap<>(Map.of("sample", Graphs.npy(dir.resolve("sample.npy")),
                "encoder_hidden_states", Graphs.npy(dir.resolve("encoder_hidden_states.npy"))));
        byte[] original;
        try (OrtSession s = Graphs.open(model)) {
            original = Graphs.run(s, in).get("out_sample");
        }
        try (OrtSession s = Graphs.open(r.path())) {
            in.put("sigma", Graphs.npy(dir.resolve("sigma.npy")));
            in.put("attention_bias", Graphs.filled(0f, bias.shape()));
            // not bit for bit here: ONNX Runtime's MHA kernel takes another path when given a bias input
            float[] zero = Graphs.floats(Graphs.run(s, in).get("out_sample"));
            float[] plain = Graphs.floats(original);
            double zeroErr = 0;
            for (int i = 0; i < plain.length; i++) {
                zeroErr = Math.max(zeroErr, Math.abs(zero[i] - plain[i]) / Math.max(1, Math.abs(plain[i])));
            }
            System.out.printf("fused MHA: zero bias vs original, max relative difference %.2e%n", zeroErr);
            assertTrue(zeroErr <= 1e-5, "zero bias moved the output by " + zeroErr);
            in.put("attention_bias", bias);
            float[] painted = Graphs.floats(Graphs.run(s, in).get("out_sample"));
            float[] expected = Graphs.npy(dir.resolve("fused_mha_painted.npy")).data();
            double err = 0;
            double scale = 0;
            for (int i = 0; i < expected.length; i++) {
                err = Math.max(err, Math.abs(painted[i] - expected[i]));
                scale = Math.max(scale, Math.abs(expected[i]));
            }
            System.out.printf("fused MHA: |rewritten - numpy| max %.2e (outputs up to %.1f)%n", err, scale);
            assertTrue(err <= 1e-5 * Math.max(1, scale), "max error " + err + " at output scale " + scale);
        }
    }

    @Test
    void unsupportedFusedAttentionIsRefusedWithTheReason() {
        Path model = Graphs.resource("rewrite/fused_mha_projection_bias.onnx");
        EDiffException e = assertThrows(EDiffException.class, () -> AttentionBiasRewrite.defaults().sites(model));
        assertTrue(e.getMessage().contains("com.microsoft.MultiHeadAttention")
                && e.getMessage().contains("packed projection bias"), e.getMessage());
    }

    @Test
    void missingTextInputNamesTheInputs() {
        Path model = Graphs.resource("rewrite/classic.onnx");
        EDiffException e = assertThrows(EDiffException.class,
                () -> AttentionBiasRewrite.builder().textInputs("t5_tokens").build().sites(model));
        assertTrue(e.getMessage().contains("t5_tokens") && e.getMessage().contains("encoder_hidden_states"), e.getMessage());
    }

    @Test
    void notAnOnnxFileIsAClearError() throws Exception {
        Path bogus = cache.resolve("bogus.onnx");
        Files.writeString(bogus, "this is not a protobuf at all, just text\n");
        EDiffException e = assertThrows(EDiffException.class, () -> AttentionBiasRewrite.defaults().sites(bogus));
        assertTrue(e.getMessage().startsWith(bogus.toString()), e.getMessage());
    }

    @Test
    void aModelWithTheBiasInputIsNotRewrittenTwice() {
        Path model = Graphs.resource("rewrite/classic.onnx");
        RewrittenModel r = AttentionBiasRewrite.defaults().ensure(model, cache);
        EDiffException e = assertThrows(EDiffException.class, () -> AttentionBiasRewrite.defaults().sites(r.path()));
        assertTrue(e.getMessage().contains("already has an input named 'attention_bias'"), e.getMessage());
        assertEquals(List.of(r.path().getFileName().toString()), List.of("model.onnx"));
    }

    /** A few Euler-like steps through the original and through the rewritten graph with a zero bias end on the same bits. */
    private static void assertSamplingRunUnchanged(OrtSession original, OrtSession rewritten, Map<String, Array> start,
                                                   String out) throws Exception {
        Map<String, Array> a = new HashMap<>(start);
        a.remove("sigma");
        a.remove("attention_bias");
        Map<String, Array> b = new HashMap<>(start);
        Array zero = start.get("attention_bias");
        b.put("attention_bias", Graphs.filled(0f, zero.shape()));
        float[] xa = start.get("sample").data().clone();
        float[] xb = xa.clone();
        long[] shape = start.get("sample").shape();
        long[] tshape = start.get("timestep").shape();
        float[] sigmas = {14.6f, 4.1f, 1.3f, 0.3f, 0f};
        for (int k = 0; k < 4; k++) {
            Array t = Graphs.filled(900f - 200f * k, tshape);
            a.put("sample", new Array(xa, shape));
            a.put("timestep", t);
            b.put("sample", new Array(xb, shape));
            b.put("timestep", t);
            b.put("sigma", Graphs.filled(sigmas[k], shape[0]));
            float[] ea = Graphs.floats(Graphs.run(original, a).get(out));
            float[] eb = Graphs.floats(Graphs.run(rewritten, b).get(out));
            float dt = sigmas[k + 1] - sigmas[k];
            for (int i = 0; i < xa.length; i++) {
                xa[i] = xa[i] / (float) Math.sqrt(sigmas[k] * sigmas[k] + 1) + dt * ea[i];
                xb[i] = xb[i] / (float) Math.sqrt(sigmas[k] * sigmas[k] + 1) + dt * eb[i];
            }
        }
        assertArrayEquals(xa, xb, "a 4-step run with a zero bias must end on the same bits");
    }

    /** The attention outputs of the rewritten graph have as many queries per site as expected (8x8, then 4x4). */
    private void assertSiteQueries(Path model, Map<String, Array> in, long... queries) throws Exception {
        RewrittenModel r = AttentionBiasRewrite.builder().attentionOutputs(true).build().ensure(model, cache);
        try (OrtSession s = Graphs.open(r.path())) {
            Map<String, long[]> shapes = Graphs.shapes(s, in);
            for (int i = 0; i < queries.length; i++) {
                long[] shape = shapes.get(r.sites().get(i).attention());
                assertEquals(queries[i], shape[shape.length - 2], java.util.Arrays.toString(shape));
                assertEquals(6, shape[shape.length - 1], "keys are the text tokens");
            }
        }
    }

    private static byte[] sha(Path p) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
    }
}
