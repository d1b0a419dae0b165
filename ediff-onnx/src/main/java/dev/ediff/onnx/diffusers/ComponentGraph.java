package dev.ediff.onnx.diffusers;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.platform.Fp16Conversions;
import dev.ediff.api.EDiffException;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.Residency;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.internal.SessionOpener;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * One component's ONNX graph (a text encoder, the UNet / transformer, a VAE half): an ONNX Runtime
 * session plus its input and output signatures as the graph declares them. Owns the session and
 * its options; {@link #close()} releases both. Not thread-safe.
 */
final class ComponentGraph implements AutoCloseable {

    /** A named tensor to feed: float32, int32 or int64 data with its shape. */
    record Feed(String name, Object data, long[] shape) {
    }

    private final String name;
    private final Path model;
    private final GraphSessions sessions;
    private SessionOpener.Opened opened; // the session and its options; null while unloaded (lazy residency)
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();
    private Residency.Slot slot; // null without a residency
    /** Wall time inside {@code OrtSession.run} of every graph of this class loader, for benchmarks. */
    private static final java.util.concurrent.atomic.LongAdder RUN_NANOS = new java.util.concurrent.atomic.LongAdder();

    /** The wall time spent inside ONNX Runtime's run by all component graphs so far (benchmarks). */
    static long runNanos() {
        return RUN_NANOS.sum();
    }

    private ComponentGraph(Path model, GraphSessions sessions) {
        this.name = model.toString();
        this.model = model;
        this.sessions = sessions;
    }

    /**
     * Opens {@code model} on the CPU with {@code threads} intra-op threads (0: one per physical core,
     * as {@link SessionConfig}), without spinning pool threads (the SDK's measured defaults).
     */
    static ComponentGraph open(Path model, int threads) {
        return open(model, GraphSessions.cpu(threads), null, null);
    }

    /**
     * As {@link #open(Path, int)} with the pipeline's sessions (provider, threads), the session's residency managed by {@code residency} (null: none,
     * loaded until closed): under a lazy residency the graph is loaded here to read and check its
     * signature, then unloaded until a generation runs it.
     */
    static ComponentGraph open(Path model, GraphSessions sessions, Residency residency, Residency.Placement placement) {
        ComponentGraph g = new ComponentGraph(model, sessions);
        g.load();
        try {
            for (Map.Entry<String, NodeInfo> e : g.session().getInputInfo().entrySet()) {
                g.inputs.put(e.getKey(), g.tensorInfo(e.getKey(), e.getValue()));
            }
            for (Map.Entry<String, NodeInfo> e : g.session().getOutputInfo().entrySet()) {
                g.outputs.put(e.getKey(), g.tensorInfo(e.getKey(), e.getValue()));
            }
        } catch (OrtException | RuntimeException e) {
            g.unload();
            throw e instanceof EDiffException ee ? ee
                    : new EDiffException(model + ": ONNX Runtime could not read the model's signature: " + e.getMessage(), e);
        }
        if (residency != null) {
            if (residency.isLazy()) {
                g.unload();
            }
            g.slot = residency.register(new Residency.Loadable() {
                @Override
                public void load() {
                    g.load();
                }

                @Override
                public void unload() {
                    g.unload();
                }
            }, placement, g.name);
        }
        return g;
    }

    /** Creates the session (and its options) on the pipeline's provider. */
    private synchronized void load() {
        this.opened = sessions.open(model);
    }

    /** Closes the session and its options, if loaded. */
    private synchronized void unload() {
        SessionOpener.Opened o = opened;
        opened = null;
        SessionOpener.close(name, o);
    }

    /** The loaded session; an error when it is not loaded. */
    private synchronized OrtSession session() {
        if (opened == null) {
            throw new IllegalStateException(name + " is not loaded (closed, or released by its residency)");
        }
        return opened.session();
    }

    private TensorInfo tensorInfo(String tensor, NodeInfo node) {
        if (!(node.getInfo() instanceof TensorInfo info)) {
            throw new EDiffException(name + ": '" + tensor + "' is not a tensor (" + node.getInfo() + ")");
        }
        return info;
    }

    /** The file the graph was loaded from. */
    String name() {
        return name;
    }

    /** Input signatures by name, in graph order. */
    Map<String, TensorInfo> inputs() {
        return inputs;
    }

    /** Output signatures by name, in graph order. */
    Map<String, TensorInfo> outputs() {
        return outputs;
    }

    /** The input {@code tensor}, or an error naming what the graph has instead. */
    TensorInfo input(String tensor, String role) {
        TensorInfo info = inputs.get(tensor);
        if (info == null) {
            throw new EDiffException(name + ": no input '" + tensor + "' (" + role + "); the graph's inputs are " + list(inputs));
        }
        return info;
    }

    /** The output {@code tensor}, or an error naming what the graph has instead. */
    TensorInfo output(String tensor, String role) {
        TensorInfo info = outputs.get(tensor);
        if (info == null) {
            throw new EDiffException(name + ": no output '" + tensor + "' (" + role + "); the graph's outputs are " + list(outputs));
        }
        return info;
    }

    /** The first of {@code candidates} that is an output, or an error naming them all. */
    String firstOutput(String role, String... candidates) {
        for (String c : candidates) {
            if (outputs.containsKey(c)) {
                return c;
            }
        }
        throw new EDiffException(name + ": none of the outputs " + String.join(", ", candidates) + " (" + role
                + "); the graph's outputs are " + list(outputs));
    }

    /**
     * Runs the graph and returns the wanted float32 outputs as flat arrays (with their shapes in
     * {@code shapes}, if non-null). Every tensor created here is closed here.
     */
    Map<String, float[]> run(List<Feed> feeds, List<String> wanted, Map<String, long[]> shapes) {
        return slot == null ? runLoaded(feeds, wanted, shapes) : slot.use(() -> runLoaded(feeds, wanted, shapes));
    }

    private Map<String, float[]> runLoaded(List<Feed> feeds, List<String> wanted, Map<String, long[]> shapes) {
        OrtSession session = session();
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            for (Feed f : feeds) {
                in.put(f.name(), tensor(f));
            }
            long t0 = System.nanoTime();
            OrtSession.Result result = session.run(in, new java.util.LinkedHashSet<>(wanted));
            RUN_NANOS.add(System.nanoTime() - t0);
            try (OrtSession.Result r = result) {
                Map<String, float[]> out = new LinkedHashMap<>();
                for (String w : wanted) {
                    OnnxValue v = r.get(w).orElseThrow(() -> new EDiffException(name + ": output '" + w + "' was not produced"));
                    OnnxTensor t = (OnnxTensor) v;
                    if (!isFloat(t.getInfo())) {
                        throw new EDiffException(name + ": output '" + w + "' is " + t.getInfo().type
                                + "; expected float32 or float16");
                    }
                    FloatBuffer fb = t.getFloatBuffer(); // float16 is widened to float32
                    float[] data = new float[fb.remaining()];
                    fb.get(data);
                    out.put(w, data);
                    if (shapes != null) {
                        shapes.put(w, t.getInfo().getShape());
                    }
                }
                return out;
            }
        } catch (OrtException e) {
            throw new EDiffException(name + ": inference failed: " + e.getMessage(), e);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(Feed f) throws OrtException {
        TensorInfo info = input(f.name(), "fed tensor");
        Object d = f.data();
        OnnxJavaType want = info.type;
        if (d instanceof float[] a && want == OnnxJavaType.FLOAT) {
            return OnnxTensor.createTensor(NativeLibrary.environment(), FloatBuffer.wrap(a), f.shape());
        }
        if (d instanceof float[] a && want == OnnxJavaType.FLOAT16) {
            // float16 exports (e.g. optimum --dtype fp16): round to half precision here, once
            return OnnxTensor.createTensor(NativeLibrary.environment(), Fp16Conversions.convertFloatBufferToFp16Buffer(FloatBuffer.wrap(a)),
                    f.shape(), OnnxJavaType.FLOAT16);
        }
        if (d instanceof long[] a && want == OnnxJavaType.INT64) {
            return OnnxTensor.createTensor(NativeLibrary.environment(), LongBuffer.wrap(a), f.shape());
        }
        if (d instanceof int[] a && want == OnnxJavaType.INT32) {
            return OnnxTensor.createTensor(NativeLibrary.environment(), IntBuffer.wrap(a), f.shape());
        }
        throw new EDiffException(name + ": input '" + f.name() + "' is " + describe(info) + "; got " + d.getClass().getSimpleName()
                + " data");
    }

    /** float32 or float16: the element types the adapters convert to and from Java floats. */
    static boolean isFloat(TensorInfo info) {
        return info.type == OnnxJavaType.FLOAT || info.type == OnnxJavaType.FLOAT16;
    }

    static String describe(TensorInfo info) {
        String type = switch (info.type) {
            case FLOAT -> "float32";
            case FLOAT16 -> "float16";
            case INT64 -> "int64";
            case INT32 -> "int32";
            default -> info.type.toString().toLowerCase(java.util.Locale.ROOT);
        };
        StringJoiner j = new StringJoiner(", ", "[", "]");
        long[] s = info.getShape();
        String[] names = info.getDimensionNames();
        for (int i = 0; i < s.length; i++) {
            j.add(s[i] >= 0 ? Long.toString(s[i]) : names != null && i < names.length && !names[i].isEmpty() ? names[i] : "?");
        }
        return type + " " + j;
    }

    private static String list(Map<String, TensorInfo> m) {
        List<String> parts = new ArrayList<>();
        m.forEach((k, v) -> parts.add("'" + k + "' " + describe(v)));
        return String.join(", ", parts);
    }

    /** The residency slot of this graph, or null when it has none. */
    Residency.Slot slot() {
        return slot;
    }

    @Override
    public void close() {
        if (slot != null) {
            slot.residency().unregister(slot);
        }
        unload();
    }
}
