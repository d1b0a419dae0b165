package dev.ediff.onnx.rewrite;

import ai.onnxruntime.OrtSession;
import dev.ediff.onnx.rewrite.Graphs.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The strongest check of the rewrite: the miniature base denoiser exported without its bias input
 * ({@code tools/rewrite/mini_without_bias.py}), rewritten, against the shipped graph that was
 * exported with the input, on the same painted masks. Not a unit test (the bias-free export is
 * 7 MB and needs the PyTorch weights recovered by branch mini3's {@code mini2.recover}); run by hand:
 * {@code java -cp ... dev.ediff.onnx.rewrite.MiniParityCheck SHIPPED.onnx WITHOUT_BIAS.onnx}.
 * Exits with status 1 when the painted outputs differ by more than 1e-4.
 */
public final class MiniParityCheck {

    private MiniParityCheck() {
    }

    public static void main(String[] args) throws Exception {
        Path shipped = Path.of(args[0]);
        Path plain = Path.of(args[1]);
        Path cache = Files.createTempDirectory("ediff-mini-parity");
        RewrittenModel r = AttentionBiasRewrite.builder().textInputs("t5_tokens", "clip_tokens").imageInputs("x")
                .build().ensure(plain, cache);
        System.out.println("sites: " + r.sites().size());
        r.sites().forEach(s -> System.out.println("  " + s));
        int b = 2;
        int side = 32;
        int tokens = 32;
        SplittableRandom rnd = new SplittableRandom(7);
        Map<String, Array> in = new HashMap<>();
        in.put("x", Graphs.random(1, b, 3, side, side));
        in.put("t5_tokens", Graphs.random(2, b, tokens, 128));
        in.put("clip_tokens", Graphs.random(3, b, tokens, 128));
        in.put("clip_pooled", Graphs.random(4, b, 128));
        in.put("image_embedding", Graphs.filled(0f, b, 128));
        float[] t5m = new float[b * tokens];
        float[] clipm = new float[b * tokens];
        for (int i = 0; i < b * tokens; i++) {
            t5m[i] = i % tokens < 9 ? 1f : 0f;
            clipm[i] = i % tokens < 12 ? 1f : 0f;
        }
        in.put("t5_mask", new Array(t5m, new long[] {b, tokens}));
        in.put("clip_mask", new Array(clipm, new long[] {b, tokens}));
        // paint: token 3 (T5) and token 32 + 4 (CLIP) on two rectangles, weight 1.5
        float[] bias64 = new float[b * side * side * 2 * tokens];
        float[] bias65 = new float[b * side * side * (2 * tokens + 1)];
        for (int n = 0; n < b; n++) {
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    int p = n * side * side + y * side + x;
                    if (x < 16 && y < 20) {
                        bias64[p * 2 * tokens + 3] = 1.5f;
                        bias65[p * (2 * tokens + 1) + 3] = 1.5f;
                    }
                    if (x >= 12 && y >= 8) {
                        bias64[p * 2 * tokens + tokens + 4] = 1.5f;
                        bias65[p * (2 * tokens + 1) + tokens + 4] = 1.5f;
                    }
                }
            }
        }
        double worst = 0;
        for (float[] sigmas : new float[][] {{0.3f, 2f}, {8f, 40f}}) {
            in.put("sigma", new Array(sigmas, new long[] {b}));
            float[] withInputZero;
            float[] withInputPainted;
            try (OrtSession s = Graphs.open(shipped)) {
                in.put("attention_bias", new Array(new float[bias64.length], new long[] {b, side * side, 2 * tokens}));
                withInputZero = Graphs.floats(Graphs.run(s, in).get("denoised"));
                in.put("attention_bias", new Array(bias64, new long[] {b, side * side, 2 * tokens}));
                withInputPainted = Graphs.floats(Graphs.run(s, in).get("denoised"));
            }
            in.remove("attention_bias");
            float[] exportedPlain;
            try (OrtSession s = Graphs.open(plain)) {
                exportedPlain = Graphs.floats(Graphs.run(s, in).get("denoised"));
            }
            float[] rewrittenZero;
            float[] rewrittenPainted;
            try (OrtSession s = Graphs.open(r.path())) {
                in.put("attention_bias", new Array(new float[bias65.length], new long[] {b, side * side, 2 * tokens + 1}));
                rewrittenZero = Graphs.floats(Graphs.run(s, in).get("denoised"));
                in.put("attention_bias", new Array(bias65, new long[] {b, side * side, 2 * tokens + 1}));
                rewrittenPainted = Graphs.floats(Graphs.run(s, in).get("denoised"));
            }
            in.remove("attention_bias");
            double recovered = maxDiff(withInputZero, exportedPlain);
            double zero = maxDiff(exportedPlain, rewrittenZero);
            double painted = maxDiff(withInputPainted, rewrittenPainted);
            double effect = maxDiff(withInputPainted, withInputZero);
            System.out.printf("sigma %s: shipped(zero bias) vs bias-free export %.2e; bias-free vs rewritten(zero) %.2e;"
                    + " shipped vs rewritten, painted %.2e (painting moves the output by %.3f)%n",
                    java.util.Arrays.toString(sigmas), recovered, zero, painted, effect);
            worst = Math.max(worst, painted);
        }
        RewrittenModel probe = AttentionBiasRewrite.builder().textInputs("t5_tokens", "clip_tokens").imageInputs("x")
                .attentionOutputs(true).build().ensure(plain, cache);
        in.put("attention_bias", new Array(bias65, new long[] {b, side * side, 2 * tokens + 1}));
        try (OrtSession s = Graphs.open(probe.path())) {
            Map<String, long[]> shapes = Graphs.shapes(s, in);
            for (AttentionSite site : probe.sites()) {
                long n = shapes.get(site.attention())[2];
                long side2 = Math.round(Math.sqrt(n));
                System.out.printf("  %s: %d queries (%dx%d), attention %s%n", site.product(), n, side2, side2,
                        java.util.Arrays.toString(shapes.get(site.attention())));
            }
        }
        System.exit(worst <= 1e-4 ? 0 : 1);
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
