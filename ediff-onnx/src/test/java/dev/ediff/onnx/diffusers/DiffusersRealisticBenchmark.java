package dev.ediff.onnx.diffusers;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.ediff.api.Generation;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.MemoryMode;
import dev.ediff.api.Request;
import dev.ediff.api.StageResult;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.onnx.Residency;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A diffusers folder at realistic size (tools/public_models {@code build.sh --realistic sd15}: SD 1.5's
 * U-Net shape, 859.5M random parameters, 4x64x64 latents, 77x768 text) through the SDK, printing
 * <ul>
 *   <li>the SDK's time per denoising step (between consecutive step callbacks of
 *       {@code EDiff.generate}, guidance batched: one U-Net run on batch 2) against the raw
 *       {@code OrtSession.run} of the same U-Net file with inputs of the same shapes made once
 *       (same thread count);</li>
 *   <li>the process's peak resident memory (VmHWM) after the generation against the sum of the
 *       folder's model files, for one memory mode per JVM (a JVM's peak cannot be reset);</li>
 *   <li>the number of graphs loaded at once ({@link Residency}).</li>
 * </ul>
 * Not a unit test; run by hand, one JVM per mode (see docs/PERFORMANCE.md for the commands):
 * {@code java -cp ... dev.ediff.onnx.diffusers.DiffusersRealisticBenchmark FOLDER resident|lazy [steps] [generations]}.
 */
public final class DiffusersRealisticBenchmark {

    private DiffusersRealisticBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args folder, memory mode ({@code resident} or {@code lazy}), steps (default 3), generations
     *             (default 2), raw runs (default 3; 0 skips the raw comparison)
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args[0]);
        MemoryMode mode = MemoryMode.valueOf(args[1].toUpperCase(java.util.Locale.ROOT));
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int generations = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        int rawRuns = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        int threads = Runtime.getRuntime().availableProcessors();
        long files = modelBytes(folder);
        System.out.printf("folder %s: model files %.2f GB; mode %s; %d threads; %d steps x %d generations%n", folder,
                files / 1e9, mode, threads, steps, generations);
        System.out.printf("RSS before open: %.2f GB%n", rss("VmRSS") / 1e9);
        Residency residency = Residency.of(mode);
        long t0 = System.nanoTime();
        List<Double> sdkSteps = new ArrayList<>();
        List<Double> sdkCpu = new ArrayList<>();
        List<Double> outside = new ArrayList<>();
        try (EDiff ediff = DiffusersPipeline.open(folder, null, LoadOptions.builder().intraOpThreads(threads).build(),
                DiffusersPipeline.defaultRewriteCache(), residency)) {
            System.out.printf("open: %.1f s, RSS %.2f GB, graphs loaded %d%n", (System.nanoTime() - t0) / 1e9,
                    rss("VmRSS") / 1e9, residency.loadedNow());
            for (int g = 0; g < generations; g++) {
                long[] last = {0};
                long[] lastCpu = {0};
                long[] lastRun = {0};
                List<Double> these = new ArrayList<>();
                List<Integer> loaded = new ArrayList<>();
                long start = System.nanoTime();
                long loading = residency.loadNanos();
                Generation gen = ediff.generate(Request.prompt("a photograph of an astronaut riding a horse " + g).seed(g)
                        .sampler(Samplers.euler(), steps).guidance(7.5).onStep((i, sigma, x, denoised) -> {
                            long now = System.nanoTime();
                            long cpu = cpuNanos();
                            long run = ComponentGraph.runNanos();
                            if (i > 0) {
                                these.add((now - last[0]) / 1e6);
                                sdkCpu.add((cpu - lastCpu[0]) / 1e6);
                                outside.add((now - last[0] - (run - lastRun[0])) / 1e6);
                            }
                            last[0] = now;
                            lastCpu[0] = cpu;
                            lastRun[0] = run;
                            loaded.add(residency.loadedNow());
                        }).build());
                StageResult r = gen.stages().get(0);
                double total = (System.nanoTime() - start) / 1e9;
                System.out.printf("generation %d: %.1f s (stage %.1f s, of it in the U-Net %.1f s; loading graphs %.1f s);"
                                + " step ms %s; graphs loaded per step %s, peak %d; RSS now %.2f GB, peak %.2f GB%n", g, total,
                        r.total().toNanos() / 1e9, r.modelTime().toNanos() / 1e9, (residency.loadNanos() - loading) / 1e9,
                        fmt(these), loaded.stream().distinct().toList(), residency.peakLoaded(), rss("VmRSS") / 1e9,
                        rss("VmHWM") / 1e9);
                sdkSteps.addAll(these);
            }
        }
        System.out.printf("per step: time outside OrtSession.run (the SDK's own: sampler, guidance, conversions,"
                + " tensors) %s ms, median %.1f ms = %.3f%% of the step%n", fmt1(outside), median(outside),
                100 * median(outside) / median(sdkSteps));
        double peak = rss("VmHWM");
        System.out.printf("peak RSS (%s): %.2f GB = %.2f x the model files (%.2f GB)%n", mode, peak / 1e9, peak / files,
                files / 1e9);
        if (rawRuns > 0) {
            List<Double> rawCpu = new ArrayList<>();
            double[] raw = raw(folder.resolve("unet").resolve("model.onnx"), threads, rawRuns, rawCpu);
            double sdk = median(sdkSteps);
            double rawMedian = median(Arrays.stream(raw).boxed().toList());
            System.out.printf("per step, wall: SDK median %.1f ms %s, raw OrtSession.run median %.1f ms %s;"
                    + " SDK - raw = %.1f ms = %.2f%% of the raw run%n", sdk, fmt(sdkSteps), rawMedian,
                    fmt(Arrays.stream(raw).boxed().toList()), sdk - rawMedian, 100 * (sdk - rawMedian) / rawMedian);
            double sdkC = median(sdkCpu);
            double rawC = median(rawCpu);
            System.out.printf("per step, process CPU: SDK median %.1f ms %s, raw median %.1f ms %s;"
                    + " SDK - raw = %.1f ms = %.2f%% of the raw run%n", sdkC, fmt(sdkCpu), rawC, fmt(rawCpu), sdkC - rawC,
                    100 * (sdkC - rawC) / rawC);
        }
    }

    /** Milliseconds of each run of the bare U-Net session on batch 2 (guidance), inputs made once. */
    private static double[] raw(Path unet, int threads, int runs, List<Double> cpuMs) throws Exception {
        OrtEnvironment env = dev.ediff.onnx.NativeLibrary.environment();
        double[] ms = new double[runs];
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(threads);
            o.addConfigEntry("session.intra_op.allow_spinning", "0");
            o.addConfigEntry("session.inter_op.allow_spinning", "0");
            try (OrtSession s = env.createSession(unet.toString(), o);
                 OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(filled(2 * 4 * 64 * 64, 0.3f)),
                         new long[] {2, 4, 64, 64});
                 OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {500, 500}), new long[] {2});
                 OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(filled(2 * 77 * 768, 0.1f)),
                         new long[] {2, 77, 768})) {
                Map<String, OnnxTensor> feeds = Map.of("sample", x, "timestep", t, "encoder_hidden_states", c);
                try (OrtSession.Result r = s.run(feeds)) { // warm-up, as the SDK's first step is not timed either
                    r.get(0);
                }
                for (int i = 0; i < runs; i++) {
                    long t0 = System.nanoTime();
                    long c0 = cpuNanos();
                    try (OrtSession.Result r = s.run(feeds)) {
                        r.get(0);
                    }
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                    cpuMs.add((cpuNanos() - c0) / 1e6);
                }
            }
        }
        return ms;
    }

    /**
     * CPU time of the whole process (every thread, ONNX Runtime's pool included), from
     * /proc/self/stat (utime + stime, clock ticks of 10 ms).
     */
    private static long cpuNanos() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    private static long modelBytes(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().startsWith("model.onnx"))
                    .mapToLong(p -> {
                        try {
                            return Files.size(p);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).sum();
        }
    }

    /** A /proc/self/status memory line in bytes (VmRSS: now, VmHWM: peak). */
    private static long rss(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length == 0 ? Double.NaN : a[a.length / 2];
    }

    private static String fmt1(List<Double> v) {
        return v.stream().map(d -> String.format("%.1f", d)).toList().toString();
    }

    private static String fmt(List<Double> v) {
        return v.stream().map(d -> String.format("%.0f", d)).toList().toString();
    }
}
