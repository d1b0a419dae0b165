package dev.ediff.onnx.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import dev.ediff.onnx.rewrite.Graphs.Array;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The zero-input copy against the graph it came from: the attention-bias rewrite of the three
 * exporter patterns adds the bias term; dropping it again for a zero bias must give the plain
 * graph's output bit for bit (and PyTorch's reference within float error), with the nodes the
 * term added gone.
 */
class ZeroInputRewriteTest {

    @TempDir
    Path cache;

    @ParameterizedTest
    @ValueSource(strings = {"classic", "sdpa", "batched"})
    void aZeroBiasCopyComputesThePlainGraph(String style) throws Exception {
        Path dir = Graphs.resource("rewrite");
        Path model = dir.resolve(style + ".onnx");
        RewrittenModel painted = AttentionBiasRewrite.defaults().ensure(model, cache);
        ByteBuffer paintedBytes = ByteBuffer.wrap(Files.readAllBytes(painted.path()));
        byte[] copy = ZeroInputRewrite.apply(paintedBytes, "attention_bias", style).orElseThrow();
        int[] nodes = {nodeCount(paintedBytes), nodeCount(ByteBuffer.wrap(copy))};
        int plainNodes = nodeCount(ByteBuffer.wrap(Files.readAllBytes(model)));
        // each removed Add becomes an Identity; everything else the bias rewrite added is gone
        assertTrue(nodes[1] <= plainNodes + painted.sites().size(), style + ": " + nodes[0] + " -> " + nodes[1]
                + " nodes, the plain graph has " + plainNodes);

        Array sample = Graphs.npy(dir.resolve("sample.npy"));
        Array text = Graphs.npy(dir.resolve("encoder_hidden_states.npy"));
        Array bias = Graphs.npy(dir.resolve("bias.npy"));
        Array sigma = Graphs.npy(dir.resolve("sigma.npy"));
        Map<String, Array> in = new HashMap<>(Map.of("sample", sample, "encoder_hidden_states", text, "sigma", sigma,
                "attention_bias", Graphs.filled(0f, bias.shape())));
        byte[] full;
        try (OrtSession s = Graphs.open(painted.path())) {
            full = Graphs.run(s, in).get("out_sample");
        }
        Path copyFile = cache.resolve(style + "-zero.onnx");
        Files.write(copyFile, copy);
        try (OrtSession s = Graphs.open(copyFile)) {
            try (OrtSession p = Graphs.open(painted.path())) {
                assertEquals(p.getInputNames(), s.getInputNames(), "the copy keeps every input, the zero one included");
            }
            byte[] zeroCopy = Graphs.run(s, in).get("out_sample");
            assertArrayEquals(full, zeroCopy, style + ": the copy must give the graph's output for a zero bias bit for bit");
            float[] reference = Graphs.npy(dir.resolve(style + "_plain.npy")).data();
            float[] got = Graphs.floats(zeroCopy);
            double err = 0;
            for (int i = 0; i < got.length; i++) {
                err = Math.max(err, Math.abs(got[i] - reference[i]));
            }
            assertTrue(err <= 1e-5, style + ": |copy - PyTorch without bias| max " + err);
            // the zeros are no longer read: a non-zero bias leaves the copy's output as it was
            in.put("attention_bias", bias);
            assertArrayEquals(zeroCopy, Graphs.run(s, in).get("out_sample"), style + ": the copy must not read the bias");
        }
    }

    @Test
    void anyInputThatOnlyAddsZerosGivesAnExactCopy() throws Exception {
        ByteBuffer plain = ByteBuffer.wrap(Files.readAllBytes(Graphs.resource("rewrite").resolve("classic.onnx")));
        assertEquals(Optional.empty(), ZeroInputRewrite.apply(plain, "attention_bias", "classic"),
                "no such input: nothing to remove");
        // zero text: the key and value projections give their biases, which the copy passes on as they are
        byte[] copy = ZeroInputRewrite.apply(plain, "encoder_hidden_states", "classic").orElseThrow();
        Path dir = Graphs.resource("rewrite");
        Array text = Graphs.npy(dir.resolve("encoder_hidden_states.npy"));
        Map<String, Array> in = Map.of("sample", Graphs.npy(dir.resolve("sample.npy")),
                "encoder_hidden_states", Graphs.filled(0f, text.shape()));
        Path copyFile = cache.resolve("classic-zero-text.onnx");
        Files.write(copyFile, copy);
        try (OrtSession original = Graphs.open(dir.resolve("classic.onnx")); OrtSession s = Graphs.open(copyFile)) {
            assertArrayEquals(Graphs.run(original, in).get("out_sample"), Graphs.run(s, in).get("out_sample"),
                    "for zero text the copy must give the original's output bit for bit");
        }
    }

    private static int nodeCount(ByteBuffer model) {
        return OnnxModelFile.of(model, Path.of("model")).nodes.size();
    }

    @Test
    void notAnOnnxModelIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ZeroInputRewrite.apply(ByteBuffer.wrap(new byte[] {(byte) 0xff, 1, 2, 3}), "x", "junk.onnx"));
        assertTrue(e.getMessage().contains("not an ONNX protobuf") || e.getMessage().contains("no graph"), e.getMessage());
    }
}
