package dev.ediff.testkit.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What opening a model bundle costs, part by part: ONNX Runtime's environment (the native library),
 * the manifest (the JSON reader's start-up), each tokenizer (as the bundle opens it: from the
 * compact form an earlier run left, when there is one), each ONNX session, opened one at a time
 * in the bundle's order. Cold numbers need a fresh JVM with nothing of the SDK used before.
 */
public final class LoadSplit {

    /**
     * Wall and process CPU time of one part.
     *
     * @param name        what was opened
     * @param wallSeconds elapsed time, seconds
     * @param cpuSeconds  the process's CPU time (all threads), seconds
     */
    public record Part(String name, double wallSeconds, double cpuSeconds) {
    }

    private LoadSplit() {
    }

    /**
     * Opens each part of a bundle by itself and times it.
     *
     * @param model  the bundle folder, or {@code null} for the default bundle on the classpath
     * @param config its intra-op thread count is used for the sessions
     * @return the parts in the order they were opened
     * @throws OrtException          if ONNX Runtime refuses a model
     * @throws UncheckedIOException  if a file cannot be read
     */
    public static List<Part> measure(Path model, SessionConfig config) throws OrtException {
        List<Part> parts = new ArrayList<>();
        double[] mark = {System.nanoTime() / 1e9, processCpuSeconds()};
        java.util.function.Consumer<String> done = name -> {
            double w = System.nanoTime() / 1e9;
            double c = processCpuSeconds();
            parts.add(new Part(name, w - mark[0], c - mark[1]));
            mark[0] = w;
            mark[1] = c;
        };
        OrtEnvironment env = NativeLibrary.environment();
        done.accept("onnxruntime environment (native library)");
        Manifest m = model != null ? ModelBundle.manifest(model) : ModelBundle.defaultManifest().orElseThrow();
        done.accept("manifest (JSON reader start-up)");
        Map<String, Boolean> sessions = new LinkedHashMap<>(); // file -> opened only on the first style image
        for (Manifest.TextEncoderSpec e : m.textEncoders()) {
            ModelBundle.tokenizer(model, m, e.tokenizer());
            done.accept(e.role() + " tokenizer");
            sessions.put(e.model(), false);
        }
        m.imageEncoder().ifPresent(ie -> sessions.put(ie.model(), true));
        m.stages().forEach(st -> st.experts().forEach(x -> x.model().ifPresent(f -> sessions.putIfAbsent(f, false))));
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(config.effectiveIntraOpThreads());
            for (Map.Entry<String, Boolean> f : sessions.entrySet()) {
                env.createSession(bytes(model, f.getKey()), o).close();
                done.accept("session " + f.getKey() + (f.getValue() ? " (opened on the first style image)" : ""));
            }
        }
        return Collections.unmodifiableList(parts);
    }

    /** {@return CPU time of the whole process so far (all threads, JIT and GC included), in seconds} */
    public static double processCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime() / 1e9;
    }

    /** {@return VmHWM (peak resident memory) from /proc/self/status in MiB on Linux, NaN elsewhere} */
    public static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    private static byte[] bytes(Path model, String file) {
        try {
            if (model != null) {
                return Files.readAllBytes(model.resolve(file));
            }
            try (InputStream in = LoadSplit.class.getClassLoader()
                    .getResourceAsStream(ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + file)) {
                if (in == null) {
                    throw new IOException("no classpath resource " + ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + file);
                }
                return in.readAllBytes();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
