package dev.ediff.onnx.bundle;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the external-data files an ONNX model refers to, by walking its protobuf encoding
 * (ModelProto, its graphs and subgraphs, functions, initializers and attribute tensors) without a
 * protobuf library. A bundle checks these references before ONNX Runtime ever opens them: a model
 * from a stranger must not read {@code /etc/passwd} as a weight file.
 */
final class OnnxExternalData {

    // Field numbers from onnx.proto3.
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_FUNCTIONS = 25;
    private static final int FUNCTION_NODE = 7;
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_SPARSE_INITIALIZER = 15;
    private static final int NODE_ATTRIBUTE = 5;
    private static final int ATTR_T = 5;
    private static final int ATTR_G = 6;
    private static final int ATTR_TENSORS = 10;
    private static final int ATTR_GRAPHS = 11;
    private static final int ATTR_SPARSE_TENSOR = 22;
    private static final int ATTR_SPARSE_TENSORS = 23;
    private static final int SPARSE_VALUES = 1;
    private static final int SPARSE_INDICES = 2;
    private static final int TENSOR_EXTERNAL_DATA = 13;
    private static final int TENSOR_DATA_LOCATION = 14;
    private static final int ENTRY_KEY = 1;
    private static final int ENTRY_VALUE = 2;
    private static final int MAX_DEPTH = 64;

    private OnnxExternalData() {
    }

    /**
     * The {@code location} of every tensor stored outside the model file (empty for a self-contained
     * model).
     *
     * @throws BundleException if the bytes are not a well-formed protobuf message
     */
    static List<String> locations(byte[] model, String where) {
        return locations(ByteBuffer.wrap(model), where);
    }

    /** As {@link #locations(byte[], String)}, over a buffer (a mapped file) from index 0 to its limit. */
    static List<String> locations(ByteBuffer model, String where) {
        List<String> out = new ArrayList<>();
        try {
            walk(model, 0, model.limit(), Kind.MODEL, out, 0);
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            throw new BundleException(where + " is not a valid ONNX model file (" + e.getMessage() + ")");
        }
        return out;
    }

    private enum Kind { MODEL, FUNCTION, GRAPH, NODE, ATTRIBUTE, TENSOR, SPARSE, ENTRY }

    /** A read position in a protobuf buffer. */
    private static final class Cursor {
        final ByteBuffer b;
        int pos;

        Cursor(ByteBuffer b, int pos) {
            this.b = b;
            this.pos = pos;
        }

        long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte x = b.get(pos++);
                result |= (long) (x & 0x7F) << shift;
                if ((x & 0x80) == 0) {
                    return result;
                }
            }
            throw new IllegalStateException("malformed varint");
        }
    }

    private static void walk(ByteBuffer b, int from, int end, Kind kind, List<String> out, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalStateException("graphs nested deeper than " + MAX_DEPTH);
        }
        Cursor c = new Cursor(b, from);
        String location = null;
        boolean external = false;
        while (c.pos < end) {
            long key = c.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 0) {
                // protobuf has no field 0: this is not a model (and a file of zeros ends here, not after its last byte)
                throw new IllegalStateException("field number 0 at byte " + (c.pos - 1));
            }
            switch (wire) {
                case 0 -> {
                    long v = c.varint();
                    if (kind == Kind.TENSOR && field == TENSOR_DATA_LOCATION && v == 1) {
                        external = true;
                    }
                }
                case 1 -> c.pos += 8;
                case 5 -> c.pos += 4;
                case 2 -> {
                    long len = c.varint();
                    if (len < 0 || c.pos + len > end) {
                        throw new IllegalStateException("truncated field " + field);
                    }
                    int start = c.pos;
                    int stop = (int) (c.pos + len);
                    Kind child = childKind(kind, field);
                    if (child == Kind.ENTRY) {
                        String[] kv = entry(b, start, stop);
                        if ("location".equals(kv[0])) {
                            location = kv[1];
                        }
                    } else if (child != null) {
                        walk(b, start, stop, child, out, depth + 1);
                    }
                    c.pos = stop;
                }
                default -> throw new IllegalStateException("unsupported wire type " + wire);
            }
            if (c.pos > end) {
                throw new IllegalStateException("field " + field + " runs past its message");
            }
        }
        if (kind == Kind.TENSOR && (external || location != null)) {
            out.add(location == null ? "" : location);
        }
    }

    private static Kind childKind(Kind parent, int field) {
        return switch (parent) {
            case MODEL -> field == MODEL_GRAPH ? Kind.GRAPH : field == MODEL_FUNCTIONS ? Kind.FUNCTION : null;
            case FUNCTION -> field == FUNCTION_NODE ? Kind.NODE : null;
            case GRAPH -> field == GRAPH_NODE ? Kind.NODE : field == GRAPH_INITIALIZER ? Kind.TENSOR
                    : field == GRAPH_SPARSE_INITIALIZER ? Kind.SPARSE : null;
            case NODE -> field == NODE_ATTRIBUTE ? Kind.ATTRIBUTE : null;
            case ATTRIBUTE -> switch (field) {
                case ATTR_T, ATTR_TENSORS -> Kind.TENSOR;
                case ATTR_G, ATTR_GRAPHS -> Kind.GRAPH;
                case ATTR_SPARSE_TENSOR, ATTR_SPARSE_TENSORS -> Kind.SPARSE;
                default -> null;
            };
            case SPARSE -> field == SPARSE_VALUES || field == SPARSE_INDICES ? Kind.TENSOR : null;
            case TENSOR -> field == TENSOR_EXTERNAL_DATA ? Kind.ENTRY : null;
            case ENTRY -> null;
        };
    }

    private static String[] entry(ByteBuffer b, int from, int end) {
        Cursor c = new Cursor(b, from);
        String k = null;
        String v = null;
        while (c.pos < end) {
            long key = c.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (wire == 0) {
                c.varint();
                continue;
            }
            if (wire != 2) {
                throw new IllegalStateException("unexpected wire type in external_data entry");
            }
            int len = (int) c.varint();
            if (len < 0 || c.pos + len > end) {
                throw new IllegalStateException("truncated external_data entry");
            }
            byte[] text = new byte[len];
            b.get(c.pos, text);
            String s = new String(text, StandardCharsets.UTF_8);
            if (field == ENTRY_KEY) {
                k = s;
            } else if (field == ENTRY_VALUE) {
                v = s;
            }
            c.pos += len;
        }
        return new String[] {k, v};
    }
}
