package dev.ediff.onnx.diffusers;

import dev.ediff.api.LoadOptions;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.rewrite.AttentionBiasRewrite;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Paint-with-words cost on the tiny diffusers fixtures: the rewrite into an empty cache, a cache hit
 * ({@code ensure} on the filled cache), and whole generations (20 steps, guidance batched) unpainted
 * and painted on one opened pipeline, as median ms per step. Not a unit test; run by hand after
 * {@code mvn -o -pl ediff-onnx -am test-compile} with the test class path:
 * {@code java -cp ... dev.ediff.onnx.diffusers.DiffusersPaintBenchmark [runs]}.
 */
public final class DiffusersPaintBenchmark {

    private DiffusersPaintBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int steps = 20;
        System.out.printf("%-10s %12s %14s %16s %16s%n", "fixture", "rewrite ms", "cache hit ms", "plain ms/step",
                "painted ms/step");
        for (String name : new String[] {"sd15", "sd2", "sdxl-base"}) {
            Path cache = Files.createTempDirectory("ediff-rewrite-bench");
            Path unet = References.folder(name).resolve("unet").resolve("model.onnx");
            long t0 = System.nanoTime();
            AttentionBiasRewrite.defaults().ensure(unet, cache);
            double rewrite = (System.nanoTime() - t0) / 1e6;
            t0 = System.nanoTime();
            AttentionBiasRewrite.defaults().ensure(unet, cache);
            double hit = (System.nanoTime() - t0) / 1e6;
            double[] plain = new double[runs];
            double[] painted = new double[runs];
            try (EDiff ediff = DiffusersPipeline.open(References.folder(name), null,
                    LoadOptions.builder().intraOpThreads(1).build(), cache)) {
                Request p = Request.prompt("a red cube on a blue table").seed(1).steps(steps).build();
                Request q = Request.prompt("a red cube on a blue table").seed(1).steps(steps)
                        .paint("red cube", Mask.rectangle(0, 0, 0.5, 1), 1.0).build();
                ediff.generate(p);
                ediff.generate(q); // warm up both sessions
                for (int i = 0; i < runs; i++) {
                    long a = System.nanoTime();
                    ediff.generate(p);
                    plain[i] = (System.nanoTime() - a) / 1e6 / steps;
                    a = System.nanoTime();
                    ediff.generate(q);
                    painted[i] = (System.nanoTime() - a) / 1e6 / steps;
                }
            }
            System.out.printf("%-10s %12.1f %14.1f %16.3f %16.3f%n", name, rewrite, hit, median(plain), median(painted));
            try (java.util.stream.Stream<Path> files = Files.walk(cache)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
