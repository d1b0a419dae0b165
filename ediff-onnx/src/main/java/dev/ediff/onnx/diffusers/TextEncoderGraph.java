package dev.ediff.onnx.diffusers;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ediff.api.EDiffException;
import dev.ediff.core.text.Tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer folder and its text encoder graph (CLIP, CLIP with projection, or T5) as exported:
 * {@code input_ids} int32 or int64, outputs {@code last_hidden_state}, {@code pooler_output} or
 * {@code text_embeds}, and {@code hidden_states.0 .. hidden_states.L} when exported with hidden
 * states. Owns the graph.
 */
final class TextEncoderGraph implements AutoCloseable {

    /** One prompt's token ids and the requested outputs, each {@code [1, ...]} flattened. */
    record Encoded(int[] ids, Map<String, float[]> outputs, Map<String, long[]> shapes) {
    }

    private final String component;
    private final Tokenizer tokenizer;
    private final ComponentGraph graph;
    private final boolean int32Ids;
    private final int layers;

    private TextEncoderGraph(String component, Tokenizer tokenizer, ComponentGraph graph) {
        this.component = component;
        this.tokenizer = tokenizer;
        this.graph = graph;
        TensorInfo ids = graph.input("input_ids", "token ids");
        if (ids.type != OnnxJavaType.INT64 && ids.type != OnnxJavaType.INT32) {
            throw new EDiffException(graph.name() + ": input 'input_ids' is " + ComponentGraph.describe(ids)
                    + "; expected int64 or int32 [batch, sequence]");
        }
        for (String in : graph.inputs().keySet()) {
            if (!in.equals("input_ids")) {
                throw new EDiffException(graph.name() + ": unexpected input '" + in + "'; a diffusers text encoder takes"
                        + " only input_ids (no attention mask)");
            }
        }
        this.int32Ids = ids.type == OnnxJavaType.INT32;
        int hidden = 0;
        while (graph.outputs().containsKey("hidden_states." + hidden)) {
            hidden++;
        }
        this.layers = hidden - 1;
    }

    /**
     * Opens {@code encoder} with the tokenizer of {@code tokenizerComponent}, checking that the
     * tokenizer's ids fit the encoder's embedding table ({@code vocab_size} of its config.json).
     */
    static TextEncoderGraph open(DiffusersFolder folder, String tokenizerComponent, String encoder, int threads) {
        return open(folder, tokenizerComponent, encoder, GraphSessions.cpu(threads), null);
    }

    /** As {@link #open(DiffusersFolder, String, String, int)}, loaded as {@code residency} decides (null: always). */
    static TextEncoderGraph open(DiffusersFolder folder, String tokenizerComponent, String encoder, GraphSessions threads,
                                 dev.ediff.onnx.Residency residency) {
        Tokenizer tok = folder.tokenizer(tokenizerComponent);
        JsonNode cfg = folder.config(encoder);
        if (cfg.path("vocab_size").canConvertToInt() && tok.vocabSize() > cfg.get("vocab_size").asInt()) {
            throw new EDiffException(folder.root().resolve(tokenizerComponent) + ": the tokenizer has " + tok.vocabSize()
                    + " tokens, but " + folder.root().resolve(encoder).resolve("config.json") + " has vocab_size "
                    + cfg.get("vocab_size").asInt() + "; expected the tokenizer exported with this text encoder");
        }
        ComponentGraph g = ComponentGraph.open(folder.model(encoder), threads, residency,
                dev.ediff.onnx.Residency.Placement.CONDITIONING);
        try {
            return new TextEncoderGraph(encoder, tok, g);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** The component name, e.g. {@code text_encoder_2}. */
    String component() {
        return component;
    }

    /** The tokenizer. */
    Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Number of transformer layers L when the graph exports hidden states 0..L, else -1. */
    int layers() {
        return layers;
    }

    /**
     * The embedding width of the token states as the graph declares it (last dimension of
     * {@code last_hidden_state}), or -1 when that dimension is symbolic.
     */
    int width() {
        long[] shape = graph.output("last_hidden_state", "token states").getShape();
        return shape.length == 3 && shape[2] > 0 ? (int) shape[2] : -1;
    }

    /** Whether the graph has output {@code name}. */
    boolean hasOutput(String name) {
        return graph.outputs().containsKey(name);
    }

    /** The first existing output among {@code candidates}. */
    String firstOutput(String role, String... candidates) {
        return graph.firstOutput(role, candidates);
    }

    /** Tokenizes {@code text} to exactly {@code length} ids (truncated, padded) and runs the encoder. */
    Encoded encode(String text, int length, List<String> outputs) {
        int[] ids = tokenizer.encode(text, length).ids();
        return run(ids, outputs);
    }

    /** Runs the encoder on given ids. */
    Encoded run(int[] ids, List<String> outputs) {
        long[] shape = {1, ids.length};
        Object data;
        if (int32Ids) {
            data = ids.clone();
        } else {
            long[] l = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                l[i] = ids[i];
            }
            data = l;
        }
        Map<String, long[]> shapes = new HashMap<>();
        Map<String, float[]> out = graph.run(List.of(new ComponentGraph.Feed("input_ids", data, shape)),
                new ArrayList<>(outputs), shapes);
        return new Encoded(ids, out, shapes);
    }

    @Override
    public void close() {
        graph.close();
    }
}
