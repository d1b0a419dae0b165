package dev.ediff.onnx.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ediff.onnx.rewrite.ProtoWire.Field;
import dev.ediff.onnx.rewrite.ProtoWire.Writer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ProtoWireTest {

    /** Splitting a model, its graph and every node into fields and writing them back gives the same bytes. */
    @ParameterizedTest
    @ValueSource(strings = {"rewrite/classic.onnx", "rewrite/fused_mha.onnx", "diffusers/sdxl-refiner/unet/model.onnx",
            "diffusers/sd15-fp16/unet/model.onnx", "diffusers/sd3/transformer/model.onnx"})
    void roundTripsEveryLevel(String resource) throws Exception {
        Path path = Graphs.resource(resource);
        byte[] original = Files.readAllBytes(path);
        OnnxModelFile f = OnnxModelFile.read(path);
        Writer graph = new Writer();
        for (int i = 0; i < f.graphFields.size(); i++) {
            Field g = f.graphFields.get(i);
            if (g.number() == OnnxModelFile.GRAPH_NODE) {
                Writer node = new Writer();
                for (Field n : ProtoWire.parse(g.payload())) {
                    node.field(n);
                }
                graph.message(OnnxModelFile.GRAPH_NODE, node);
            } else {
                graph.field(g);
            }
        }
        Writer model = new Writer();
        for (int i = 0; i < f.modelFields.size(); i++) {
            if (i == f.graphFieldIndex) {
                model.message(OnnxModelFile.MODEL_GRAPH, graph);
            } else {
                model.field(f.modelFields.get(i));
            }
        }
        assertArrayEquals(original, model.toByteArray());
        assertTrue(f.opset >= 13, "opset " + f.opset);
        assertEquals(resource.contains("refiner"), !f.externalData.isEmpty(), f.externalData.toString());
    }

    @Test
    void varintsAndStringsRoundTrip() {
        byte[] b = new Writer().varint(1, 0).varint(2, 300).varint(3, -1).string(4, "héllo").fixed32(5, 0x3f800000)
                .toByteArray();
        List<Field> fields = ProtoWire.parse(ByteBuffer.wrap(b));
        assertEquals(5, fields.size());
        assertEquals(0, fields.get(0).varint());
        assertEquals(300, fields.get(1).varint());
        assertEquals(-1, fields.get(2).varint());
        assertEquals("héllo", fields.get(3).string());
        assertEquals(1f, fields.get(4).payload().order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0));
    }

    @Test
    void truncatedInputIsAClearError() {
        byte[] b = new Writer().string(1, "a long enough string").toByteArray();
        ByteBuffer cut = ByteBuffer.wrap(b, 0, b.length - 3).slice();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProtoWire.parse(cut));
        assertTrue(e.getMessage().startsWith("not an ONNX protobuf"), e.getMessage());
    }
}
