package dev.ediff.onnx.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The fixtures and Python references written by tools/public_models/build.py. */
final class References {

    /** A float32 array from a .npy file, with its shape. */
    record Array(float[] data, long[] shape) {
    }

    private References() {
    }

    static Path fixtures() {
        try {
            return Path.of(References.class.getResource("/diffusers").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path folder(String name) {
        return fixtures().resolve(name);
    }

    static JsonNode json(String name) throws IOException {
        return new ObjectMapper().readTree(fixtures().resolve("references").resolve(name).toFile());
    }

    /** Reads a little-endian float32, C-order .npy (format 1.0 / 2.0). */
    static Array npy(String file) throws IOException {
        byte[] b = Files.readAllBytes(fixtures().resolve("references").resolve(file));
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (b[0] != (byte) 0x93 || !new String(b, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IOException(file + ": not a .npy file");
        }
        int major = b[6];
        int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort(8)) : buf.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(b, start, headerLen, StandardCharsets.US_ASCII);
        if (!header.contains("'descr': '<f4'") || header.contains("'fortran_order': True")) {
            throw new IOException(file + ": expected little-endian float32 in C order, header " + header);
        }
        Matcher m = Pattern.compile("'shape': \\(([^)]*)\\)").matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": no shape in header " + header);
        }
        String[] parts = m.group(1).split(",");
        long[] shape = java.util.Arrays.stream(parts).map(String::trim).filter(s -> !s.isEmpty()).mapToLong(Long::parseLong).toArray();
        int n = (b.length - start - headerLen) / 4;
        float[] data = new float[n];
        buf.position(start + headerLen);
        buf.asFloatBuffer().get(data);
        return new Array(data, shape);
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    /** |actual - expected| <= tol * max(1, |expected|) elementwise; returns the largest scaled error. */
    static double assertClose(float[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
            worst = Math.max(worst, err);
            if (err > tol) {
                throw new AssertionError(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]
                        + " (scaled error " + err + " > " + tol + ")");
            }
        }
        return worst;
    }

    static double assertClose(float[] expected, float[] actual, double tol, String what) {
        double[] d = new double[actual.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = actual[i];
        }
        return assertClose(expected, d, tol, what);
    }
}
