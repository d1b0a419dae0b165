package dev.ediff.testkit.analytic;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A minimal builder of ONNX models from the ONNX protobuf classes ({@code ai.onnx.proto.OnnxMl},
 * from tribuo-util-onnx): graph inputs and outputs, constant initializers and nodes. Enough to
 * write analytic models (such as {@link GaussianMixtureOnnx}) and test graphs in code, without
 * Python. Node outputs get fresh names unless one is given.
 */
public final class OnnxGraphBuilder {

    /** The ONNX operator set the built models import (supported by ONNX Runtime 1.16 and later). */
    public static final int OPSET = 17;
    private static final long IR_VERSION = 8;

    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder();
    private int counter;

    /**
     * A builder for a graph called {@code name}.
     *
     * @param name the graph's name
     */
    public OnnxGraphBuilder(String name) {
        graph.setName(Objects.requireNonNull(name, "name"));
    }

    /**
     * Declares a graph input.
     *
     * @param name the input's name
     * @param type its element type
     * @param dims each a {@link Number} (fixed size) or a {@link String} (a symbolic dimension such as {@code "B"})
     * @return {@code name}
     */
    public String input(String name, OnnxMl.TensorProto.DataType type, Object... dims) {
        graph.addInput(valueInfo(name, type, dims));
        return name;
    }

    /**
     * Declares a graph output.
     *
     * @param name the output's name
     * @param type its element type
     * @param dims as for {@link #input}
     */
    public void output(String name, OnnxMl.TensorProto.DataType type, Object... dims) {
        graph.addOutput(valueInfo(name, type, dims));
    }

    /**
     * A float32 constant of the given shape.
     *
     * @param values the values, row major
     * @param dims   the shape
     * @return the constant's name
     */
    public String constant(float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return initializer(OnnxMl.TensorProto.DataType.FLOAT, b, values.length, dims);
    }

    /**
     * An int64 constant of the given shape (shapes and axes for Reshape, ReduceSum...).
     *
     * @param values the values, row major
     * @param dims   the shape
     * @return the constant's name
     */
    public String constant(long[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return initializer(OnnxMl.TensorProto.DataType.INT64, b, values.length, dims);
    }

    /**
     * A float32 scalar (rank 0) constant.
     *
     * @param value the value
     * @return the constant's name
     */
    public String scalar(float value) {
        return constant(new float[] {value});
    }

    private String initializer(OnnxMl.TensorProto.DataType type, ByteBuffer raw, int count, long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException("constant of shape " + Arrays.toString(dims) + " needs " + n
                    + " values, got " + count);
        }
        String name = fresh("const");
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return name;
    }

    /**
     * Adds a node with one fresh output.
     *
     * @param opType     the ONNX operator
     * @param inputs     its inputs' names
     * @param attributes its attributes
     * @return the output's name
     */
    public String node(String opType, String[] inputs, OnnxMl.AttributeProto... attributes) {
        return node(opType, fresh(opType.toLowerCase(java.util.Locale.ROOT)), inputs, attributes);
    }

    /**
     * Adds a node with the given output name (e.g. a graph output).
     *
     * @param opType     the ONNX operator
     * @param output     the output's name
     * @param inputs     its inputs' names
     * @param attributes its attributes
     * @return {@code output}
     */
    public String node(String opType, String output, String[] inputs, OnnxMl.AttributeProto... attributes) {
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(opType).setName(fresh("node"))
                .addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        for (OnnxMl.AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return output;
    }

    /**
     * An integer attribute.
     *
     * @param name  the attribute's name
     * @param value its value
     * @return the attribute
     */
    public static OnnxMl.AttributeProto attr(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT)
                .setI(value).build();
    }

    /**
     * An integer-list attribute.
     *
     * @param name   the attribute's name
     * @param values its values
     * @return the attribute
     */
    public static OnnxMl.AttributeProto attr(String name, long[] values) {
        OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    /** {@return the serialized model} */
    public byte[] build() {
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("ediff-java")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph)
                .build()
                .toByteArray();
    }

    private String fresh(String prefix) {
        return prefix + "_" + counter++;
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, OnnxMl.TensorProto.DataType type, Object... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            OnnxMl.TensorShapeProto.Dimension.Builder dim = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number num) {
                dim.setDimValue(num.longValue());
            } else if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                throw new IllegalArgumentException("a dimension is a Number or a String, got " + d);
            }
            shape.addDim(dim);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(type.getNumber()).setShape(shape)))
                .build();
    }
}
