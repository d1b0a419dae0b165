package dev.ediff.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.api.EDiffException;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The inputs and outputs of a loaded graph, and the check of an {@link ExpertContract} against
 * them. Every failure is an {@link EDiffException} naming the tensor, the signature expected and
 * the one found, so a wrong export is diagnosed when the session opens, not at the first step.
 */
final class GraphSignature {

    private final String model;
    private final Map<String, NodeInfo> inputs;
    private final Map<String, NodeInfo> outputs;

    private GraphSignature(String model, Map<String, NodeInfo> inputs, Map<String, NodeInfo> outputs) {
        this.model = model;
        this.inputs = inputs;
        this.outputs = outputs;
    }

    static GraphSignature of(String model, OrtSession session) throws OrtException {
        return new GraphSignature(model, new LinkedHashMap<>(session.getInputInfo()),
                new LinkedHashMap<>(session.getOutputInfo()));
    }

    /** Checks names, ranks and dtypes (float32 or float16) of everything the contract names, and that no required input is left unmapped. */
    void check(ExpertContract c) {
        tensor(inputs, "input", c.xInput(), "noisy sample x", 4, "[B, C, H, W]");
        tensor(inputs, "input", c.noiseInput(), "noise level", c.noiseShape().rank(), c.noiseShape().shape());
        for (Map.Entry<String, ExpertContract.ConditioningInput> e : c.conditioning().entrySet()) {
            tensor(inputs, "input", e.getValue().input(), "conditioning '" + e.getKey() + "'", -1, "[B, ...]");
        }
        tensor(outputs, "output", c.output(), "prediction", 4, "[B, C, H, W]");

        Set<String> unmapped = new LinkedHashSet<>(inputs.keySet());
        unmapped.remove(c.xInput());
        unmapped.remove(c.noiseInput());
        c.conditioning().values().forEach(ci -> unmapped.remove(ci.input()));
        if (!unmapped.isEmpty()) {
            StringJoiner j = new StringJoiner(", ");
            unmapped.forEach(n -> j.add("'" + n + "' " + describe(inputs.get(n))));
            throw new EDiffException(model + ": the model requires input(s) the contract does not map: " + j
                    + ". Map each to a conditioning role with ExpertContract.Builder.conditioning(role, input)");
        }
    }

    /** The tensor info of a checked input. */
    TensorInfo input(String name) {
        return (TensorInfo) inputs.get(name).getInfo();
    }

    /** The tensor info of a checked output. */
    TensorInfo output(String name) {
        return (TensorInfo) outputs.get(name).getInfo();
    }

    private void tensor(Map<String, NodeInfo> where, String kind, String name, String role, int rank, String shape) {
        String expected = "float32 (or float16) " + (rank < 0 ? "tensor " + shape : "rank " + rank + " " + shape);
        NodeInfo node = where.get(name);
        if (node == null) {
            throw new EDiffException(model + ": the contract maps the " + role + " to " + kind + " '" + name
                    + "' (expected " + expected + "), but the model has no such " + kind + "; its " + kind + "s are: "
                    + list(where));
        }
        if (!(node.getInfo() instanceof TensorInfo info)) {
            throw new EDiffException(model + ": " + kind + " '" + name + "' (" + role + "): expected " + expected
                    + ", found " + node.getInfo());
        }
        boolean supported = info.type == OnnxJavaType.FLOAT || info.type == OnnxJavaType.FLOAT16;
        if (!supported || (rank >= 0 && info.getShape().length != rank)) {
            throw new EDiffException(model + ": " + kind + " '" + name + "' (" + role + "): expected " + expected
                    + ", found " + describe(node) + (supported ? "" : ". OnnxExpert feeds float32 or float16 tensors:"
                    + " export the model's inputs and outputs in one of them"));
        }
    }

    private static String list(Map<String, NodeInfo> nodes) {
        StringJoiner j = new StringJoiner(", ");
        nodes.forEach((n, info) -> j.add("'" + n + "' " + describe(info)));
        return j.toString();
    }

    /** E.g. {@code float32 [B, 3, 64, 64]}; symbolic dimensions by name, unknown ones as {@code ?}. */
    static String describe(NodeInfo node) {
        if (!(node.getInfo() instanceof TensorInfo info)) {
            return String.valueOf(node.getInfo());
        }
        return dtype(info) + " " + shape(info);
    }

    static String shape(TensorInfo info) {
        long[] s = info.getShape();
        String[] names = info.getDimensionNames();
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (int i = 0; i < s.length; i++) {
            if (s[i] >= 0) {
                j.add(Long.toString(s[i]));
            } else {
                j.add(names != null && i < names.length && !names[i].isEmpty() ? names[i] : "?");
            }
        }
        return j.toString();
    }

    static String dtype(TensorInfo info) {
        return switch (info.type) {
            case FLOAT -> "float32";
            case DOUBLE -> "float64";
            case FLOAT16 -> "float16";
            case BFLOAT16 -> "bfloat16";
            default -> info.onnxType.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "").toLowerCase(java.util.Locale.ROOT);
        };
    }
}
