package dev.ediff.onnx.rewrite;

import dev.ediff.onnx.rewrite.ProtoWire.Field;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model file split into the parts the rewrite reads (ModelProto, GraphProto and NodeProto
 * field numbers from onnx.proto3); everything else stays as undecoded bytes. The file is mapped,
 * not copied, so initializers embedded in a large model cost no heap.
 */
final class OnnxModelFile {

    // ModelProto
    static final int MODEL_GRAPH = 7;
    static final int MODEL_OPSET_IMPORT = 8;
    // GraphProto
    static final int GRAPH_NODE = 1;
    static final int GRAPH_INITIALIZER = 5;
    static final int GRAPH_INPUT = 11;
    static final int GRAPH_OUTPUT = 12;
    // NodeProto
    static final int NODE_INPUT = 1;
    static final int NODE_OUTPUT = 2;
    static final int NODE_NAME = 3;
    static final int NODE_OP_TYPE = 4;
    static final int NODE_ATTRIBUTE = 5;
    static final int NODE_DOMAIN = 7;
    // TensorProto
    static final int TENSOR_NAME = 8;
    static final int TENSOR_EXTERNAL_DATA = 13;
    static final int TENSOR_DATA_LOCATION = 14;

    /** A node: its position among the graph's fields and the fields the analysis needs. */
    record Node(int field, String name, String opType, String domain, List<String> inputs, List<String> outputs,
                List<Field> fields) {

        /** An INT attribute (AttributeProto: name 1, i 3), or the default. */
        long intAttribute(String name, long otherwise) {
            Field f = attribute(name, 3);
            return f == null ? otherwise : f.varint();
        }

        /** A FLOAT attribute (AttributeProto: name 1, f 2), or the default. */
        float floatAttribute(String name, float otherwise) {
            Field f = attribute(name, 2);
            return f == null ? otherwise : f.payload().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat();
        }

        /** The value field {@code valueField} of the attribute {@code name} (AttributeProto), or null. */
        Field attribute(String name, int valueField) {
            for (Field a : fields) {
                if (a.number() != NODE_ATTRIBUTE || a.wire() != ProtoWire.LEN) {
                    continue;
                }
                List<Field> parts = ProtoWire.parse(a.payload());
                boolean named = parts.stream().anyMatch(p -> p.number() == 1 && p.wire() == ProtoWire.LEN
                        && p.string().equals(name));
                if (named) {
                    return parts.stream().filter(p -> p.number() == valueField).findFirst().orElse(null);
                }
            }
            return null;
        }
    }

    final Path path;
    final ByteBuffer bytes;
    final List<Field> modelFields;
    final int graphFieldIndex;
    final List<Field> graphFields;
    final List<Node> nodes = new ArrayList<>();
    /** Graph inputs that are not initializers, in order. */
    final List<String> inputs = new ArrayList<>();
    final Set<String> outputs = new LinkedHashSet<>();
    final Set<String> initializers = new LinkedHashSet<>();
    /** Locations of external tensor data, relative to the model's folder. */
    final Set<String> externalData = new LinkedHashSet<>();
    /** The default-domain opset version (0 when the model imports none). */
    final long opset;

    private OnnxModelFile(Path path, ByteBuffer bytes) {
        this.path = path;
        this.bytes = bytes;
        this.modelFields = ProtoWire.parse(bytes);
        int g = -1;
        long version = 0;
        for (int i = 0; i < modelFields.size(); i++) {
            Field f = modelFields.get(i);
            if (f.number() == MODEL_GRAPH && f.wire() == ProtoWire.LEN) {
                g = i;
            } else if (f.number() == MODEL_OPSET_IMPORT && f.wire() == ProtoWire.LEN) {
                String domain = "";
                long v = 0;
                for (Field o : ProtoWire.parse(f.payload())) {
                    if (o.number() == 1 && o.wire() == ProtoWire.LEN) {
                        domain = o.string();
                    } else if (o.number() == 2 && o.wire() == ProtoWire.VARINT) {
                        v = o.varint();
                    }
                }
                if (domain.isEmpty() || domain.equals("ai.onnx")) {
                    version = v;
                }
            }
        }
        if (g < 0) {
            throw new IllegalArgumentException("no graph in the file (is it an ONNX model?)");
        }
        this.graphFieldIndex = g;
        this.opset = version;
        this.graphFields = ProtoWire.parse(modelFields.get(g).payload());
        List<String> declaredInputs = new ArrayList<>();
        for (int i = 0; i < graphFields.size(); i++) {
            Field f = graphFields.get(i);
            if (f.wire() != ProtoWire.LEN) {
                continue;
            }
            switch (f.number()) {
                case GRAPH_NODE -> nodes.add(node(i, f));
                case GRAPH_INITIALIZER -> initializer(f);
                case GRAPH_INPUT -> declaredInputs.add(valueName(f));
                case GRAPH_OUTPUT -> outputs.add(valueName(f));
                default -> {
                }
            }
        }
        for (String in : declaredInputs) {
            if (!initializers.contains(in)) {
                inputs.add(in);
            }
        }
    }

    static OnnxModelFile read(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("the file is " + size + " bytes; an ONNX protobuf is at most 2 GB"
                        + " (larger models keep their weights in external data files)");
            }
            return new OnnxModelFile(path, ch.map(FileChannel.MapMode.READ_ONLY, 0, size));
        }
    }

    /**
     * Reads a model held in memory (a classpath bundle's native copy); {@code name} stands for the
     * path in messages.
     */
    static OnnxModelFile of(ByteBuffer bytes, Path name) {
        return new OnnxModelFile(name, bytes.duplicate());
    }

    private static Node node(int index, Field f) {
        List<Field> fields = ProtoWire.parse(f.payload());
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "";
        String op = "";
        String domain = "";
        for (Field n : fields) {
            if (n.wire() != ProtoWire.LEN) {
                continue;
            }
            switch (n.number()) {
                case NODE_INPUT -> in.add(n.string());
                case NODE_OUTPUT -> out.add(n.string());
                case NODE_NAME -> name = n.string();
                case NODE_OP_TYPE -> op = n.string();
                case NODE_DOMAIN -> domain = n.string();
                default -> {
                }
            }
        }
        if (domain.equals("ai.onnx")) {
            domain = "";
        }
        return new Node(index, name, op, domain, List.copyOf(in), List.copyOf(out), fields);
    }

    private void initializer(Field f) {
        boolean external = false;
        String location = null;
        for (Field t : ProtoWire.parse(f.payload())) {
            if (t.number() == TENSOR_NAME && t.wire() == ProtoWire.LEN) {
                initializers.add(t.string());
            } else if (t.number() == TENSOR_DATA_LOCATION && t.wire() == ProtoWire.VARINT) {
                external = t.varint() == 1;
            } else if (t.number() == TENSOR_EXTERNAL_DATA && t.wire() == ProtoWire.LEN) {
                Map<Integer, String> kv = new HashMap<>();
                for (Field e : ProtoWire.parse(t.payload())) {
                    if (e.wire() == ProtoWire.LEN) {
                        kv.put(e.number(), e.string());
                    }
                }
                if ("location".equals(kv.get(1))) {
                    location = kv.get(2);
                }
            }
        }
        if (external && location != null) {
            externalData.add(location);
        }
    }

    private static String valueName(Field f) {
        for (Field v : ProtoWire.parse(f.payload())) {
            if (v.number() == 1 && v.wire() == ProtoWire.LEN) {
                return v.string();
            }
        }
        return "";
    }
}
