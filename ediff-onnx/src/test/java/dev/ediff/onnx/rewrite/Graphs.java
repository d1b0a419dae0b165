package dev.ediff.onnx.rewrite;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Test helpers: fixture paths, .npy files, and running a graph with ONNX Runtime at the SDK's optimisation level. */
final class Graphs {

    static final OrtEnvironment ENV = dev.ediff.onnx.NativeLibrary.environment();

    /** A float32 array with its shape. */
    record Array(float[] data, long[] shape) {
    }

    private Graphs() {
    }

    static Path resource(String path) {
        try {
            return Path.of(Graphs.class.getResource("/" + path).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads a little-endian float32 C-order .npy file. */
    static Array npy(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int major = b[6];
        int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort(8)) : buf.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(b, start, headerLen, StandardCharsets.US_ASCII);
        if (!header.contains("'<f4'") || header.contains("'fortran_order': True")) {
            throw new IOException(file + ": expected float32 C order, header " + header);
        }
        Matcher m = Pattern.compile("'shape': \\(([^)]*)\\)").matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": no shape");
        }
        long[] shape = Arrays.stream(m.group(1).split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .mapToLong(Long::parseLong).toArray();
        float[] data = new float[(b.length - start - headerLen) / 4];
        buf.position(start + headerLen);
        buf.asFloatBuffer().get(data);
        return new Array(data, shape);
    }

    /** A session at ONNX Runtime's default level (ALL, which SessionOpener leaves in place), set explicitly. */
    static OrtSession open(Path model) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setIntraOpNumThreads(1);
            return ENV.createSession(model.toString(), o);
        }
    }

    /** Float tensors by name; every output's raw bytes by name. */
    static Map<String, byte[]> run(OrtSession s, Map<String, Array> inputs) throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            for (Map.Entry<String, Array> e : inputs.entrySet()) {
                in.put(e.getKey(), tensor(s, e.getKey(), e.getValue()));
            }
            Map<String, byte[]> out = new LinkedHashMap<>();
            try (OrtSession.Result r = s.run(in)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    ByteBuffer bb = ((OnnxTensor) e.getValue()).getByteBuffer();
                    byte[] bytes = new byte[bb.remaining()];
                    bb.get(bytes);
                    out.put(e.getKey(), bytes);
                }
            }
            return out;
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    /** The shape of every output (for attention outputs: [B, heads, queries, keys] or [B*heads, queries, keys]). */
    static Map<String, long[]> shapes(OrtSession s, Map<String, Array> inputs) throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            for (Map.Entry<String, Array> e : inputs.entrySet()) {
                in.put(e.getKey(), tensor(s, e.getKey(), e.getValue()));
            }
            Map<String, long[]> out = new LinkedHashMap<>();
            try (OrtSession.Result r = s.run(in)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    out.put(e.getKey(), ((OnnxTensor) e.getValue()).getInfo().getShape());
                }
            }
            return out;
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    /** A tensor of the input's declared type (float, float16, int64) from float values. */
    private static OnnxTensor tensor(OrtSession s, String name, Array a) throws OrtException {
        NodeInfo info = s.getInputInfo().get(name);
        OnnxJavaType type = info == null ? OnnxJavaType.FLOAT : ((TensorInfo) info.getInfo()).type;
        switch (type) {
            case INT64 -> {
                long[] v = new long[a.data().length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (long) a.data()[i];
                }
                return OnnxTensor.createTensor(ENV, java.nio.LongBuffer.wrap(v), a.shape());
            }
            case FLOAT16 -> {
                ByteBuffer b = ByteBuffer.allocateDirect(a.data().length * 2).order(ByteOrder.nativeOrder());
                for (float f : a.data()) {
                    b.putShort(half(f));
                }
                b.flip();
                return OnnxTensor.createTensor(ENV, b, a.shape(), OnnxJavaType.FLOAT16);
            }
            default -> {
                return OnnxTensor.createTensor(ENV, java.nio.FloatBuffer.wrap(a.data()), a.shape());
            }
        }
    }

    /** float32 to float16 bits, exact for the values {@link #random} makes (k/1024, |k| <= 1024). */
    private static short half(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        if ((bits & 0x7fffffff) == 0) {
            return (short) sign;
        }
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        if (exp <= 0 || exp >= 31 || (bits & 0x1fff) != 0) {
            throw new IllegalArgumentException(f + " is not exactly a normal float16");
        }
        return (short) (sign | exp << 10 | (bits >>> 13) & 0x3ff);
    }

    static float[] floats(byte[] raw) {
        float[] f = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).asFloatBuffer().get(f);
        return f;
    }

    static Array random(long seed, long... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = new float[(int) Arrays.stream(shape).reduce(1, (x, y) -> x * y)];
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextInt(-1024, 1025) / 1024f; // exact in float16 too
        }
        return new Array(d, shape);
    }

    static Array filled(float v, long... shape) {
        float[] d = new float[(int) Arrays.stream(shape).reduce(1, (x, y) -> x * y)];
        Arrays.fill(d, v);
        return new Array(d, shape);
    }
}
