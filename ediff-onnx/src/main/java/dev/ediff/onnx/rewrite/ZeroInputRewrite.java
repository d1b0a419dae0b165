package dev.ediff.onnx.rewrite;

import dev.ediff.onnx.rewrite.OnnxModelFile.Node;
import dev.ediff.onnx.rewrite.ProtoWire.Field;
import dev.ediff.onnx.rewrite.ProtoWire.Writer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A copy of a graph for calls in which one input is all zeros: every computation that only turns
 * those zeros into more zeros, and the {@code Add} that adds them to something else, are removed.
 * Made for the paint-with-words bias: with no words painted the miniature model's experts compute
 * {@code bias * log(1 + sigma) * max(Q K^T)} from a zero bias in every cross-attention (pooling,
 * reshaping and broadcasting the zeros to [B, heads, queries, tokens] and taking the maximum of the
 * scores) only to add zeros; the copy runs about 5% faster and gives the same outputs bit for bit
 * (x + 0 = x exactly, and the removed values are exact zeros).
 *
 * <p>The input stays declared, so the copy has the original's inputs and outputs and is fed the
 * same tensors (the zeros are still passed, and no longer read). Zeros are followed through
 * data-movement and pooling ops on their data input ({@code Transpose}, {@code Reshape},
 * {@code AveragePool}, {@code Unsqueeze}, ...), {@code Concat} of zeros (with {@code ConstantOfShape}
 * or {@code Constant} zeros), {@code Mul} and {@code MatMul} by zeros and {@code Div} of zeros;
 * {@code Add(x, zeros)} and {@code Sub(x, zeros)} become {@code Identity(x)}, and what no output
 * needs any more is dropped. This is exact where the other operands are finite (0 * inf is NaN in the
 * original) and the zeros broadcast to the other operand's shape in the {@code Add}, as an additive
 * attention bias does. Graphs with subgraphs ({@code If}, {@code Loop}) are left alone.
 */
public final class ZeroInputRewrite {

    /** Bumped whenever the emitted graph changes, so that cached optimizations of older copies are not reused. */
    public static final int VERSION = 1;

    /** Ops whose output is zero when their first (data) input is. */
    private static final Set<String> ZERO_OF_DATA = Set.of("Transpose", "Reshape", "AveragePool", "MaxPool",
            "GlobalAveragePool", "GlobalMaxPool", "Unsqueeze", "Squeeze", "Flatten", "Cast", "CastLike", "Identity",
            "Slice", "Expand", "Tile", "Gather", "Resize", "Upsample", "ReduceMean", "ReduceSum", "ReduceMax",
            "ReduceMin", "Neg", "Relu", "Abs", "DepthToSpace", "SpaceToDepth", "Div");
    // AttributeProto: t (a tensor) 5, g (a graph) 6, graphs 11; TensorProto's number fields
    private static final int ATTRIBUTE_TENSOR = 5;
    private static final Set<Integer> ATTRIBUTE_GRAPHS = Set.of(6, 11);
    private static final Set<Integer> TENSOR_NUMBERS = Set.of(4, 5, 7, 9, 10, 11);

    private ZeroInputRewrite() {
    }

    /**
     * The graph of {@code model} specialised for {@code input} being all zeros, or empty when that
     * removes nothing (no {@code Add} of the zeros was found, the input is not a graph input, or the
     * graph has subgraphs).
     *
     * @param model the serialized ONNX model, from its position to its limit (not changed)
     * @param input the name of the graph input that is all zeros
     * @param name  the model's name, for messages
     * @return the rewritten model's bytes, or empty
     * @throws IllegalArgumentException when the bytes are not an ONNX model
     */
    public static Optional<byte[]> apply(ByteBuffer model, String input, String name) {
        OnnxModelFile f = OnnxModelFile.of(model, Path.of(name));
        if (!f.inputs.contains(input)) {
            return Optional.empty();
        }
        Set<String> zero = new HashSet<>();
        zero.add(input);
        Map<Integer, String> identityOf = new HashMap<>(); // Add/Sub node field -> the operand it passes on
        Set<String> constantZeros = new HashSet<>();
        for (Node n : f.nodes) {
            if (hasSubgraph(n)) {
                return Optional.empty(); // names used inside a subgraph are invisible to the liveness below
            }
            if (!n.domain().isEmpty() || n.outputs().isEmpty()) {
                continue;
            }
            String op = n.opType();
            if ((op.equals("ConstantOfShape") || op.equals("Constant")) && zeroValue(n)) {
                constantZeros.add(n.outputs().get(0));
                continue;
            }
            List<String> in = n.inputs();
            boolean anyZero = in.stream().anyMatch(zero::contains);
            if (!anyZero) {
                continue;
            }
            String out = n.outputs().get(0);
            if (ZERO_OF_DATA.contains(op)) {
                if (zero.contains(in.get(0))) {
                    zero.add(out);
                }
            } else if (op.equals("Concat")) {
                if (in.stream().allMatch(i -> i.isEmpty() || zero.contains(i) || constantZeros.contains(i))) {
                    zero.add(out);
                }
            } else if (op.equals("Mul") || op.equals("MatMul")) {
                zero.add(out);
            } else if ((op.equals("Add") || op.equals("Sub")) && in.size() == 2) {
                boolean z0 = zero.contains(in.get(0));
                boolean z1 = zero.contains(in.get(1));
                if (z0 && z1) {
                    zero.add(out);
                } else if (z1) {
                    identityOf.put(n.field(), in.get(0));
                } else if (op.equals("Add")) {
                    identityOf.put(n.field(), in.get(1));
                }
            }
        }
        if (identityOf.isEmpty()) {
            return Optional.empty();
        }
        // liveness from the graph outputs, with the Adds of zeros passing on their other operand
        Set<String> needed = new HashSet<>(f.outputs);
        Set<Integer> kept = new HashSet<>();
        for (int k = f.nodes.size() - 1; k >= 0; k--) {
            Node n = f.nodes.get(k);
            if (n.outputs().stream().noneMatch(needed::contains)) {
                continue;
            }
            kept.add(n.field());
            String passed = identityOf.get(n.field());
            if (passed != null) {
                needed.add(passed);
            } else {
                needed.addAll(n.inputs());
            }
        }
        return Optional.of(write(f, kept, identityOf, needed));
    }

    private static byte[] write(OnnxModelFile f, Set<Integer> kept, Map<Integer, String> identityOf, Set<String> needed) {
        Map<Integer, Node> nodes = new HashMap<>();
        f.nodes.forEach(n -> nodes.put(n.field(), n));
        Set<String> declared = new HashSet<>(f.inputs);
        ByteArrayOutputStream graph = new ByteArrayOutputStream(f.modelFields.get(f.graphFieldIndex).payload().remaining());
        for (int i = 0; i < f.graphFields.size(); i++) {
            Field g = f.graphFields.get(i);
            if (g.number() == OnnxModelFile.GRAPH_NODE && g.wire() == ProtoWire.LEN) {
                if (!kept.contains(i)) {
                    continue;
                }
                String passed = identityOf.get(i);
                if (passed != null) {
                    Node n = nodes.get(i);
                    Writer identity = new Writer().string(OnnxModelFile.NODE_INPUT, passed)
                            .string(OnnxModelFile.NODE_OUTPUT, n.outputs().get(0))
                            .string(OnnxModelFile.NODE_NAME, n.name())
                            .string(OnnxModelFile.NODE_OP_TYPE, "Identity");
                    graph.writeBytes(new Writer().message(OnnxModelFile.GRAPH_NODE, identity).toByteArray());
                    continue;
                }
            } else if (g.number() == OnnxModelFile.GRAPH_INITIALIZER && g.wire() == ProtoWire.LEN) {
                String name = tensorName(g);
                if (!needed.contains(name) && !declared.contains(name)) {
                    continue; // only the removed nodes read it: ONNX Runtime would warn about an unused initializer
                }
            }
            graph.writeBytes(ProtoWire.copy(ProtoWire.encoded(g)));
        }
        ByteArrayOutputStream model = new ByteArrayOutputStream(graph.size() + 1024);
        for (int i = 0; i < f.modelFields.size(); i++) {
            if (i == f.graphFieldIndex) {
                model.writeBytes(ProtoWire.header(OnnxModelFile.MODEL_GRAPH, graph.size()));
                model.writeBytes(graph.toByteArray());
            } else {
                model.writeBytes(ProtoWire.copy(ProtoWire.encoded(f.modelFields.get(i))));
            }
        }
        return model.toByteArray();
    }

    private static boolean hasSubgraph(Node n) {
        for (Field a : n.fields()) {
            if (a.number() == OnnxModelFile.NODE_ATTRIBUTE && a.wire() == ProtoWire.LEN) {
                for (Field p : ProtoWire.parse(a.payload())) {
                    if (ATTRIBUTE_GRAPHS.contains(p.number())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** True when a ConstantOfShape's or Constant's value is all zeros (ConstantOfShape's default is a float 0). */
    private static boolean zeroValue(Node n) {
        Field t = n.attribute("value", ATTRIBUTE_TENSOR);
        if (t == null) {
            return n.opType().equals("ConstantOfShape");
        }
        boolean any = false;
        for (Field p : ProtoWire.parse(t.payload())) {
            if (!TENSOR_NUMBERS.contains(p.number())) {
                continue;
            }
            any = true;
            if (p.wire() == ProtoWire.VARINT ? p.varint() != 0 : !allZero(p.payload())) {
                return false;
            }
        }
        return any || n.opType().equals("ConstantOfShape");
    }

    private static boolean allZero(ByteBuffer b) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static String tensorName(Field initializer) {
        for (Field t : ProtoWire.parse(initializer.payload())) {
            if (t.number() == OnnxModelFile.TENSOR_NAME && t.wire() == ProtoWire.LEN) {
                return t.string();
            }
        }
        return "";
    }
}
