package dev.ediff.testkit.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.internal.SessionOpener;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Times the bare {@code OrtSession.run} of one ONNX file, with no SDK code around it: the Java side
 * of the engine comparison in {@code tools/bench/ort_run.py} (which times Python's
 * {@code InferenceSession.run} on the same file and the same inputs). Inputs are float tensors
 * filled by a formula both sides share ({@code sin(0.001 i + 0.1 k)} for the k-th input, the
 * sigma input 1.5), made once per batch size in direct buffers and reused, as the SDK does.
 *
 * <p>Usage: {@code OrtRunBenchmark MODEL [batches=2,8] [runs=50] [warmup=10] [threads=1] [options=sdk|plain]}.
 * {@code sdk} takes the session options from {@link SessionConfig} (what the SDK uses); {@code plain}
 * sets only the thread count (ONNX Runtime's defaults otherwise, as a Python loop has). Prints one
 * JSON object: the engine version, per batch the median wall milliseconds per run, the mean process CPU milliseconds per run (the
 * timed loop's total: Java's process CPU clock is coarse)
 * and the sum of the output (to check that two engines compute the same thing); then the median and
 * fastest run into an output tensor made once ({@code pinned_ms}), as the SDK runs its experts.
 */
public final class OrtRunBenchmark {

    private OrtRunBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args {@code MODEL [batches] [runs] [warmup] [threads] [options]}, see the class comment
     * @throws OrtException when ONNX Runtime fails
     */
    public static void main(String[] args) throws OrtException {
        Path model = Path.of(args[0]);
        int[] batches = Arrays.stream((args.length > 1 ? args[1] : "2,8").split(",")).mapToInt(Integer::parseInt).toArray();
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        boolean plain = args.length > 5 && args[5].equals("plain");
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        OrtEnvironment env = NativeLibrary.environment();
        OrtSession.SessionOptions options;
        if (plain) {
            options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
        } else {
            options = SessionOpener.baseOptions(SessionConfig.builder().intraOpThreads(threads).build());
        }
        StringBuilder json = new StringBuilder();
        json.append(String.format(Locale.ROOT, "{\"impl\": \"java\", \"ort\": \"%s\", \"engine_file\": \"%s\", \"native_path\": \"%s\", \"options\": \"%s\", "
                + "\"threads\": %d, \"batches\": {", NativeLibrary.engineVersion(), engineFile(), System.getProperty(NativeLibrary.PATH_PROPERTY),
                plain ? "plain" : "sdk", threads));
        try (options; OrtSession session = env.createSession(model.toString(), options)) {
            for (int bi = 0; bi < batches.length; bi++) {
                int b = batches[bi];
                Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                int k = 0;
                for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                    long[] shape = ((TensorInfo) e.getValue().getInfo()).getShape().clone();
                    shape[0] = b;
                    long n = 1;
                    for (long d : shape) {
                        n *= d;
                    }
                    FloatBuffer buf = ByteBuffer.allocateDirect((int) n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
                    for (int i = 0; i < n; i++) {
                        buf.put(i, e.getKey().equals("sigma") ? 1.5f : (float) Math.sin(0.001 * i + 0.1 * k));
                    }
                    feeds.put(e.getKey(), OnnxTensor.createTensor(env, buf, shape));
                    k++;
                }
                Set<String> outputs = Set.of(session.getOutputNames().iterator().next());
                double sum = 0;
                for (int i = 0; i < warmup; i++) {
                    try (OrtSession.Result r = session.run(feeds, outputs)) {
                        if (i == 0) {
                            FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
                            for (int j = 0; j < out.limit(); j++) {
                                sum += out.get(j);
                            }
                        }
                    }
                }
                double[] wall = new double[runs];
                long c = os.getProcessCpuTime();
                for (int i = 0; i < runs; i++) {
                    long t = System.nanoTime();
                    try (OrtSession.Result r = session.run(feeds, outputs)) {
                        wall[i] = (System.nanoTime() - t) / 1e6;
                    }
                }
                double cpu = (os.getProcessCpuTime() - c) / 1e6 / runs;
                // the same call into an output tensor made once (what the SDK does: OnnxSession's pinned outputs)
                String outName = outputs.iterator().next();
                long[] outShape = ((TensorInfo) session.getOutputInfo().get(outName).getInfo()).getShape().clone();
                outShape[0] = b;
                long outSize = 1;
                for (long d : outShape) {
                    outSize *= d;
                }
                double[] pinned = new double[runs];
                FloatBuffer outBuf = ByteBuffer.allocateDirect((int) outSize * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
                try (OnnxTensor out = OnnxTensor.createTensor(env, outBuf, outShape)) {
                    Map<String, OnnxTensor> pin = Map.of(outName, out);
                    for (int i = 0; i < warmup; i++) {
                        session.run(feeds, pin).close();
                    }
                    for (int i = 0; i < runs; i++) {
                        long t = System.nanoTime();
                        try (OrtSession.Result r = session.run(feeds, pin)) {
                            pinned[i] = (System.nanoTime() - t) / 1e6;
                        }
                    }
                }
                Arrays.sort(pinned);
                for (OnnxTensor t : feeds.values()) {
                    t.close();
                }
                Arrays.sort(wall);
                json.append(String.format(Locale.ROOT, "%s\"%d\": {\"wall_ms\": %.3f, \"cpu_ms\": %.3f, \"min_ms\": %.3f, "
                        + "\"pinned_ms\": %.3f, \"pinned_min_ms\": %.3f, \"sum\": %.6f}", bi > 0 ? ", " : "", b, wall[runs / 2], cpu, wall[0],
                        pinned[runs / 2], pinned[0], sum));
            }
        }
        json.append("}}");
        System.out.println(json);
    }

    /** The engine library this process mapped (from /proc/self/maps), resolved; "?" elsewhere. */
    private static String engineFile() {
        try (var lines = java.nio.file.Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1)).filter(f -> f.contains("libonnxruntime.so"))
                    .findFirst().map(f -> {
                        try {
                            return Path.of(f).toRealPath().toString();
                        } catch (java.io.IOException e) {
                            return f;
                        }
                    }).orElse("?");
        } catch (java.io.IOException | RuntimeException e) {
            return "?";
        }
    }
}
