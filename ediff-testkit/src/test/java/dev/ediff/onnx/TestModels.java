package dev.ediff.onnx;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.ediff.testkit.analytic.OnnxGraphBuilder;

/** Small ONNX graphs for contract and lifecycle tests. */
final class TestModels {

    private TestModels() {
    }

    /**
     * A deliberately slow graph: {@code x [B, 1, n, n]} multiplied {@code repeats} times by the
     * identity, then by sigma; output {@code D}. With n = 512 each MatMul costs ~0.27 GFLOP per sample.
     */
    static byte[] slow(int n, int repeats) {
        OnnxGraphBuilder g = new OnnxGraphBuilder("slow");
        String x = g.input("x", DataType.FLOAT, "B", 1, n, n);
        String sigma = g.input("sigma", DataType.FLOAT, "B");
        g.output("D", DataType.FLOAT, "B", 1, n, n);
        float[] eye = new float[n * n];
        for (int i = 0; i < n; i++) {
            eye[i * n + i] = 1;
        }
        String w = g.constant(eye, n, n);
        String h = x;
        for (int r = 0; r < repeats; r++) {
            h = g.node("MatMul", new String[] {h, w});
        }
        String s = g.node("Reshape", new String[] {sigma, g.constant(new long[] {-1, 1, 1, 1}, 4)});
        g.node("Mul", "D", new String[] {h, s});
        return g.build();
    }

    /**
     * {@code D = x * sigma} with the given dtypes and sigma shape; {@code x} is {@code [B, 3, 4, 4]}.
     * Non-float inputs are cast inside the graph.
     */
    static byte[] scaled(DataType xType, DataType sigmaType, Object... sigmaDims) {
        OnnxGraphBuilder g = new OnnxGraphBuilder("scaled");
        String x = g.input("x", xType, "B", 3, 4, 4);
        String sigma = g.input("sigma", sigmaType, sigmaDims);
        g.output("D", DataType.FLOAT, "B", 3, 4, 4);
        String xf = g.node("Cast", new String[] {x}, OnnxGraphBuilder.attr("to", DataType.FLOAT.getNumber()));
        String sf = g.node("Cast", new String[] {sigma}, OnnxGraphBuilder.attr("to", DataType.FLOAT.getNumber()));
        String s = g.node("Reshape", new String[] {sf, g.constant(new long[] {-1, 1, 1, 1}, 4)});
        g.node("Mul", "D", new String[] {xf, s});
        return g.build();
    }

    /** {@code D = x * sigma} entirely in float16: inputs, arithmetic and output. */
    static byte[] scaledHalf() {
        OnnxGraphBuilder g = new OnnxGraphBuilder("scaled_half");
        String x = g.input("x", DataType.FLOAT16, "B", 3, 4, 4);
        String sigma = g.input("sigma", DataType.FLOAT16, "B");
        g.output("D", DataType.FLOAT16, "B", 3, 4, 4);
        String s = g.node("Reshape", new String[] {sigma, g.constant(new long[] {-1, 1, 1, 1}, 4)});
        g.node("Mul", "D", new String[] {x, s});
        return g.build();
    }

    /** {@code D = x * sigma + mean(embedding)} with an extra input {@code emb [B, 8]}. */
    static byte[] withEmbedding() {
        OnnxGraphBuilder g = new OnnxGraphBuilder("embedding");
        String x = g.input("x", DataType.FLOAT, "B", 3, 4, 4);
        String sigma = g.input("sigma", DataType.FLOAT, "B");
        String emb = g.input("emb", DataType.FLOAT, "B", 8);
        g.output("D", DataType.FLOAT, "B", 3, 4, 4);
        String s = g.node("Reshape", new String[] {sigma, g.constant(new long[] {-1, 1, 1, 1}, 4)});
        String m = g.node("ReduceMean", new String[] {emb}, OnnxGraphBuilder.attr("axes", new long[] {1}),
                OnnxGraphBuilder.attr("keepdims", 1));
        String m4 = g.node("Reshape", new String[] {m, g.constant(new long[] {-1, 1, 1, 1}, 4)});
        g.node("Add", "D", new String[] {g.node("Mul", new String[] {x, s}), m4});
        return g.build();
    }
}
