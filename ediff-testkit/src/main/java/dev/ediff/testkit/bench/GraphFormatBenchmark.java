package dev.ediff.testkit.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The optimized-graph cache's two entry formats, measured on ONNX Runtime directly (the default
 * bundle's six sessions opened at load: the text encoders and the experts; 1 intra-op thread):
 * <ul>
 *   <li>{@code prime DIR}: saves each model's optimized graph as {@code DIR/<n>.onnx} and {@code DIR/<n>.ort};</li>
 *   <li>{@code open VARIANT DIR}: in this (fresh) JVM creates the six sessions and prints the process
 *       CPU time, wall time and peak RSS (an entry ONNX Runtime copied is unmapped right after its
 *       session is made, as the SDK does; the shipped models are read onto the heap first); {@code VARIANT} is {@code original} (the models as shipped),
 *       {@code onnx} (the ONNX entries, optimization off), {@code ort-copy} (the ORT entries, copied by
 *       ONNX Runtime) or {@code ort-in-place} (the ORT entries, mapped and used in place, as
 *       {@code -Dediff.graphCache.format=ort} does);</li>
 *   <li>{@code calls DIR NAME BATCH [ROUNDS]}: one model ({@code NAME} as written by {@code prime}, e.g.
 *       {@code base_low}) opened from its {@code onnx}, {@code ort-in-place} and {@code ort-copy}
 *       entries in one JVM, run on the same random inputs in rotation; prints the median and the least
 *       CPU time per call of each (the calling thread's: ONNX Runtime runs on it with 1 thread).</li>
 * </ul>
 * Run {@code open} variants in fresh JVMs, rotated round by round. Numbers: {@code docs/PERFORMANCE.md},
 * "Session 6".
 */
public final class GraphFormatBenchmark {

    private GraphFormatBenchmark() {
    }

    /**
     * Runs one of the modes above.
     *
     * @param args {@code prime DIR}, {@code open VARIANT DIR} or {@code calls DIR NAME BATCH [ROUNDS]}
     * @throws Exception when ONNX Runtime or a file fails
     */
    public static void main(String[] args) throws Exception {
        OrtEnvironment env = NativeLibrary.environment();
        switch (args.length == 0 ? "" : args[0]) {
            case "prime" -> prime(env, Path.of(args[1]));
            case "open" -> open(env, args[1], Path.of(args[2]));
            case "calls" -> calls(env, Path.of(args[1]), args[2], Integer.parseInt(args[3]),
                    args.length > 4 ? Integer.parseInt(args[4]) : 40);
            default -> System.err.println("usage: prime DIR | open original|onnx|ort-copy|ort-in-place DIR"
                    + " | calls DIR NAME BATCH [ROUNDS]");
        }
    }

    /** The model files of the sessions the default bundle opens at load, in its order. */
    private static List<String> models() {
        Manifest m = ModelBundle.defaultManifest().orElseThrow();
        Set<String> files = new LinkedHashSet<>();
        m.textEncoders().forEach(e -> files.add(e.model()));
        m.stages().forEach(st -> st.experts().forEach(x -> x.model().ifPresent(files::add)));
        return new ArrayList<>(files);
    }

    private static String entryName(String file) {
        return file.replace(".onnx", "").replace('/', '_');
    }

    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(1);
        o.addConfigEntry("session.intra_op.allow_spinning", "0");
        o.addConfigEntry("session.inter_op.allow_spinning", "0");
        return o;
    }

    private static OrtSession.SessionOptions options(String variant) throws OrtException {
        OrtSession.SessionOptions o = options();
        if (!variant.equals("original")) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
        }
        if (variant.startsWith("ort")) {
            o.addConfigEntry("session.load_model_format", "ORT");
        }
        if (variant.equals("ort-in-place")) {
            o.addConfigEntry("session.use_ort_model_bytes_directly", "1");
            o.addConfigEntry("session.use_ort_model_bytes_for_initializers", "1");
        }
        return o;
    }

    private static byte[] bundled(String file) throws IOException {
        try (InputStream in = GraphFormatBenchmark.class.getClassLoader()
                .getResourceAsStream(ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + file)) {
            if (in == null) {
                throw new IOException("no classpath resource " + ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + file);
            }
            return in.readAllBytes();
        }
    }

    private static ByteBuffer map(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }
    }

    /** Unmaps (or frees) a direct buffer now instead of at some later collection. */
    private static void free(ByteBuffer b) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
        f.setAccessible(true);
        Object unsafe = f.get(null);
        unsafe.getClass().getMethod("invokeCleaner", ByteBuffer.class).invoke(unsafe, b);
    }

    private static void prime(OrtEnvironment env, Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String file : models()) {
            byte[] model = bundled(file);
            for (String format : List.of("onnx", "ort")) {
                try (OrtSession.SessionOptions o = options()) {
                    o.setOptimizedModelFilePath(dir.resolve(entryName(file) + "." + format).toString());
                    o.addConfigEntry("session.save_model_format", format.toUpperCase(Locale.ROOT));
                    env.createSession(model, o).close();
                }
            }
        }
    }

    private static OrtSession session(OrtEnvironment env, String variant, ByteBuffer bytes) throws OrtException {
        OrtSession.SessionOptions o = options(variant); // kept open for the process's life: a benchmark
        return env.createSession(bytes, o);
    }

    private static void open(OrtEnvironment env, String variant, Path dir) throws Exception {
        List<String> files = models();
        List<ByteBuffer> inputs = new ArrayList<>();
        for (String f : files) { // read or mapped before the clock starts
            if (variant.equals("original")) {
                byte[] b = bundled(f);
                inputs.add(ByteBuffer.allocateDirect(b.length).put(b).flip());
            } else {
                inputs.add(map(dir.resolve(entryName(f) + (variant.startsWith("ort") ? ".ort" : ".onnx"))));
            }
        }
        List<OrtSession> sessions = new ArrayList<>();
        double c0 = LoadSplit.processCpuSeconds();
        long w0 = System.nanoTime();
        for (ByteBuffer b : inputs) {
            sessions.add(session(env, variant, b));
            if (!variant.equals("ort-in-place")) {
                free(b); // ONNX Runtime made its own copy: unmapped at once, as the SDK does
            }
        }
        double cpu = LoadSplit.processCpuSeconds() - c0;
        double wall = (System.nanoTime() - w0) / 1e9;
        System.out.printf(Locale.ROOT, "%s: %d sessions, %.0f ms CPU, %.0f ms wall, peak RSS %.1f MiB%n", variant,
                sessions.size(), cpu * 1e3, wall * 1e3, LoadSplit.peakRssMiB());
        for (OrtSession s : sessions) {
            s.close();
        }
        java.lang.ref.Reference.reachabilityFence(inputs); // in place, the sessions read them to the end
        inputs.clear();
    }

    private static void calls(OrtEnvironment env, Path dir, String name, int batch, int rounds) throws Exception {
        String[] variants = {"onnx", "ort-in-place", "ort-copy"};
        OrtSession[] s = new OrtSession[variants.length];
        ByteBuffer[] graphs = new ByteBuffer[variants.length]; // referenced to the end: in place, the session reads them
        for (int i = 0; i < s.length; i++) {
            graphs[i] = map(dir.resolve(name + (variants[i].startsWith("ort") ? ".ort" : ".onnx")));
            s[i] = session(env, variants[i], graphs[i]);
        }
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        Random r = new Random(7);
        for (var e : s[0].getInputInfo().entrySet()) {
            TensorInfo ti = (TensorInfo) e.getValue().getInfo();
            long[] shape = ti.getShape().clone();
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < 0) {
                    shape[i] = i == 0 ? batch : 8;
                }
            }
            float[] f = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, (a, b) -> a * b))];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) r.nextGaussian();
            }
            in.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(f), shape));
        }
        ThreadMXBean tm = ManagementFactory.getThreadMXBean();
        for (OrtSession x : s) {
            for (int i = 0; i < 3; i++) {
                x.run(in).close();
            }
        }
        double[][] t = new double[s.length][rounds];
        for (int i = 0; i < rounds; i++) {
            for (int j = 0; j < s.length; j++) {
                int k = (i + j) % s.length; // rotate the order round by round
                long c = tm.getCurrentThreadCpuTime();
                s[k].run(in).close();
                t[k][i] = (tm.getCurrentThreadCpuTime() - c) / 1e6;
            }
        }
        for (int j = 0; j < s.length; j++) {
            double[] x = t[j].clone();
            Arrays.sort(x);
            System.out.printf(Locale.ROOT, "%s batch %d %s: median %.2f ms, least %.2f ms CPU per call%n", name, batch,
                    variants[j], x[rounds / 2], x[0]);
        }
        for (OrtSession x : s) {
            x.close();
        }
        java.lang.ref.Reference.reachabilityFence(graphs);
    }
}
