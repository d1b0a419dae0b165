package dev.ediff.onnx.rewrite;

import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.onnx.rewrite.Graphs.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Rewrite time (cold cache), cache-hit time, and the step-time overhead of the bias on the fixture
 * U-Nets (batch 2, 32x32 latent, 77 tokens): the original graph against the rewritten one fed a
 * non-zero bias. Not a unit test; run by hand after {@code mvn -o -pl ediff-onnx -am test-compile}:
 * {@code java -cp ediff-onnx/target/test-classes:ediff-onnx/target/classes:ediff-core/target/classes:ediff-api/target/classes:<deps>
 * dev.ediff.onnx.rewrite.RewriteBenchmark [iterations]}.
 */
public final class RewriteBenchmark {

    private RewriteBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int b = 2;
        int side = 32;
        int tokens = 77;
        System.out.printf("%-13s %6s %11s %12s %12s %13s %9s%n", "fixture", "sites", "rewrite ms", "cache hit ms",
                "original ms", "rewritten ms", "overhead");
        Path cache = Files.createTempDirectory("ediff-rewrite-bench");
        try {
            for (String name : new String[] {"sd15", "sd15-fp16", "sd2", "sdxl-base", "sdxl-refiner"}) {
                Path model = Graphs.resource("diffusers/" + name + "/unet/model.onnx");
                long t0 = System.nanoTime();
                RewrittenModel r = AttentionBiasRewrite.defaults().ensure(model, cache);
                long t1 = System.nanoTime();
                RewrittenModel hit = AttentionBiasRewrite.defaults().ensure(model, cache);
                long t2 = System.nanoTime();
                if (!hit.cacheHit()) {
                    throw new IllegalStateException("second ensure missed the cache");
                }
                Map<String, Array> in = new HashMap<>();
                double original;
                double rewritten;
                try (OrtSession s = Graphs.open(model); OrtSession p = Graphs.open(r.path())) {
                    for (var e : s.getInputInfo().entrySet()) {
                        long[] shape = ((TensorInfo) e.getValue().getInfo()).getShape();
                        for (int i = 0; i < shape.length; i++) {
                            if (shape[i] < 0) {
                                shape[i] = i == 0 ? b : e.getKey().equals("sample") ? side : tokens;
                            }
                        }
                        in.put(e.getKey(), e.getKey().equals("timestep") ? Graphs.filled(500f, shape)
                                : Graphs.random(e.getKey().hashCode(), shape));
                    }
                    original = median(s, in, n);
                    in.put("sigma", Graphs.filled(2f, b));
                    in.put("attention_bias", Graphs.random(3, b, (long) side * side, tokens));
                    rewritten = median(p, in, n);
                }
                System.out.printf("%-13s %6d %11.1f %12.2f %12.3f %13.3f %8.1f%%%n", name, r.sites().size(),
                        (t1 - t0) / 1e6, (t2 - t1) / 1e6, original, rewritten, 100 * (rewritten / original - 1));
            }
        } finally {
            try (Stream<Path> walk = Files.walk(cache)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static double median(OrtSession s, Map<String, Array> in, int n) throws Exception {
        for (int i = 0; i < 5; i++) {
            Graphs.run(s, in);
        }
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            Graphs.run(s, in);
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return ms[n / 2];
    }
}
