package dev.ediff.testkit.bench;

import ai.onnxruntime.OrtException;
import com.sun.management.ThreadMXBean;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.ModelBundle;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * End-to-end numbers of a whole model in one fresh JVM, the SDK side of {@code tools/bench/compare.py}
 * (its Python twin is {@code tools/bench/ort_loop.py}): the time to open the model (first thing in
 * the JVM, so it includes class loading and the native library), the median time of a whole
 * generation per batch size (after {@code --warmup} generations, default 3), the Java bytes the generating thread
 * allocates per generation and per sampling step (measured between consecutive steps), and the
 * process's peak resident memory at the end.
 *
 * <p>Usage: {@code PipelineBenchmark [--model DIR] [--threads N] [--batches 1,4,16] [--runs N] [--warmup N]
 * [--split] [--json]}. Without {@code --model} the default bundle on the classpath is used.
 * {@code --split} instead opens the parts one at a time in a fresh JVM (ONNX Runtime's environment,
 * each tokenizer, each ONNX session) and prints what each costs cold.
 */
public final class PipelineBenchmark {

    private PipelineBenchmark() {
    }

    /**
     * Runs the benchmark and prints its numbers (a table, or one JSON object with {@code --json}).
     *
     * @param args the options in the class description
     * @throws Exception if the model cannot be opened or a generation fails
     */
    public static void main(String[] args) throws Exception {
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        long t0 = System.nanoTime();
        Map<String, String> a = parse(args);
        int threads = Integer.parseInt(a.getOrDefault("threads", "0"));
        SessionConfig config = threads > 0 ? SessionConfig.builder().intraOpThreads(threads).interOpThreads(1).build()
                : SessionConfig.DEFAULT;
        if (a.containsKey("split")) {
            split(a.get("model"), config, a.containsKey("json"));
            return;
        }
        int runs = Integer.parseInt(a.getOrDefault("runs", "3"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "3"));
        String prompt = a.getOrDefault("prompt", "a small red circle above a large blue square");
        EDiff ediff = a.containsKey("model") ? ModelBundle.open(Path.of(a.get("model")), config)
                : ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, config);
        double load = (System.nanoTime() - t0) / 1e9;
        double loadCpu = processCpuSeconds();
        long loadedAt = System.currentTimeMillis();
        double sinceJvm = (loadedAt - jvmStart) / 1e3;
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        Map<String, double[]> batches = new LinkedHashMap<>();
        Map<String, Long> stepBytes = new LinkedHashMap<>();
        try (ediff) {
            for (String b : a.getOrDefault("batches", "1,4,16").split(",")) {
                int count = Integer.parseInt(b.trim());
                for (int w = 0; w < warmup; w++) { // JIT and ONNX Runtime's first-run allocations
                    ediff.generate(Request.prompt(prompt).seed(1 + w).count(count).build());
                }
                double[] times = new double[runs];
                double[] cpu = new double[runs];
                long bytes = 0;
                for (int r = 0; r < runs; r++) {
                    Request req = Request.prompt(prompt).seed(42 + r).count(count).build();
                    long alloc0 = mx.getCurrentThreadAllocatedBytes();
                    double c = processCpuSeconds();
                    long s = System.nanoTime();
                    ediff.generate(req);
                    times[r] = (System.nanoTime() - s) / 1e9;
                    cpu[r] = processCpuSeconds() - c;
                    bytes += mx.getCurrentThreadAllocatedBytes() - alloc0;
                }
                // Per step, measured step by step: the bytes the generating thread allocates between
                // consecutive step callbacks of a stage (not a generation's total divided by its steps).
                long[] marks = new long[1024];
                int[] n = {0};
                int[] last = {-1};
                ediff.generate(Request.prompt(prompt).seed(7).count(count).onStep((i, sigma, x, d) -> {
                    if (n[0] < marks.length) {
                        marks[n[0]++] = i > last[0] ? mx.getCurrentThreadAllocatedBytes() : Long.MIN_VALUE;
                    }
                    last[0] = i;
                }).build());
                long[] perStep = new long[n[0]];
                int k = 0;
                for (int i = 1; i < n[0]; i++) {
                    if (marks[i] != Long.MIN_VALUE && marks[i - 1] != Long.MIN_VALUE) {
                        perStep[k++] = marks[i] - marks[i - 1];
                    }
                }
                perStep = Arrays.copyOf(perStep, k);
                Arrays.sort(perStep);
                stepBytes.put(b.trim(), k == 0 ? 0 : perStep[k / 2]);
                Arrays.sort(times);
                Arrays.sort(cpu);
                batches.put(b.trim(), new double[] {times[runs / 2], (double) bytes / runs, cpu[runs / 2]});
            }
        }
        double peak = peakRssMiB();
        if (a.containsKey("json")) {
            StringBuilder sb = new StringBuilder("{\"impl\": \"sdk\", \"threads\": " + threads + ", \"load_s\": " + load
                    + ", \"jvm_to_loaded_s\": " + sinceJvm + ", \"loaded_at\": " + loadedAt / 1e3 + ", \"cpu_to_loaded_s\": " + loadCpu + ", \"batches\": {");
            StringBuilder al = new StringBuilder("\"alloc_bytes\": {");
            StringBuilder cp = new StringBuilder("\"cpu_s\": {");
            String sep = "";
            for (Map.Entry<String, double[]> e : batches.entrySet()) {
                sb.append(sep).append('"').append(e.getKey()).append("\": ").append(e.getValue()[0]);
                al.append(sep).append('"').append(e.getKey()).append("\": ").append((long) e.getValue()[1]);
                cp.append(sep).append('"').append(e.getKey()).append("\": ").append(e.getValue()[2]);
                sep = ", ";
            }
            StringBuilder st = new StringBuilder("\"step_alloc_bytes\": {");
            String sp = "";
            for (Map.Entry<String, Long> e : stepBytes.entrySet()) {
                st.append(sp).append('"').append(e.getKey()).append("\": ").append(e.getValue());
                sp = ", ";
            }
            sb.append("}, ").append(al).append("}, ").append(cp).append("}, ").append(st).append("}, \"peak_rss_mib\": ").append(peak).append('}');
            System.out.println(sb);
        } else {
            System.out.printf(Locale.ROOT, "SDK, %s thread(s): load %.3f s (JVM start to loaded %.3f s, %.3f s of CPU)%n",
                    threads > 0 ? Integer.toString(threads) : "default", load, sinceJvm, loadCpu);
            batches.forEach((b, v) -> System.out.printf(Locale.ROOT, "  batch %3s: %.3f s (median of %d; %.3f s of CPU), %.2f MB Java allocation per generation, %d bytes per step (median)%n",
                    b, v[0], runs, v[2], v[1] / 1e6, stepBytes.get(b)));
            System.out.printf(Locale.ROOT, "  peak RSS %.0f MiB%n", peak);
        }
    }

    /** Opens each part of the bundle by itself, cold, in the bundle's order: wall and process CPU time of each. */
    private static void split(String model, SessionConfig config, boolean json) throws OrtException {
        List<LoadSplit.Part> parts = LoadSplit.measure(model == null ? null : Path.of(model), config);
        if (json) {
            StringBuilder sb = new StringBuilder("{");
            String sep = "";
            for (LoadSplit.Part p : parts) {
                sb.append(sep).append('"').append(p.name()).append("\": [").append(p.wallSeconds()).append(", ")
                        .append(p.cpuSeconds()).append(']');
                sep = ", ";
            }
            System.out.println(sb.append('}'));
        } else {
            System.out.printf(Locale.ROOT, "  %-60s %9s %9s%n", "part (cold, in this order)", "wall ms", "CPU ms");
            parts.forEach(p -> System.out.printf(Locale.ROOT, "  %-60s %9.1f %9.1f%n", p.name(), p.wallSeconds() * 1e3,
                    p.cpuSeconds() * 1e3));
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + args[i] + "'; options are --model DIR"
                        + " --threads N --batches 1,4,16 --runs N --warmup N --prompt TEXT --split --json");
            }
            String k = args[i].substring(2);
            if (k.equals("split") || k.equals("json")) {
                a.put(k, "true");
            } else if (i + 1 < args.length) {
                a.put(k, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + k + " needs a value");
            }
        }
        return a;
    }

    static double processCpuSeconds() {
        return LoadSplit.processCpuSeconds();
    }

    static double peakRssMiB() {
        return LoadSplit.peakRssMiB();
    }
}
