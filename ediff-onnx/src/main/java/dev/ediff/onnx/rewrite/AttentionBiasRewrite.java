package dev.ediff.onnx.rewrite;

import dev.ediff.api.EDiffException;
import dev.ediff.core.cache.CacheFiles;
import dev.ediff.onnx.rewrite.OnnxModelFile.Node;
import dev.ediff.onnx.rewrite.ProtoWire.Field;
import dev.ediff.onnx.rewrite.ProtoWire.Writer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Rewrites an exported denoiser graph so that it takes eDiff-I's paint-with-words attention bias,
 * the way the miniature model was exported: in every cross-attention the scores become
 * {@code Q K^T + bias * log(1 + sigma) * max(Q K^T)} before the scale and the softmax, the maximum
 * taken per sample and head over all queries and keys, the bias average-pooled from the latent
 * resolution to the site's. A zero bias adds exact zeros, so it leaves every output bit for bit
 * unchanged. Adding the term to the raw product is the same as adding it to the scaled logits,
 * whether the exporter scales after the product ({@code Div}/{@code Mul}) or scales Q and K before
 * it (PyTorch 2's SDPA export), because the maximum scales with them.
 *
 * <p>A cross-attention site is a {@code MatMul} whose second operand (the keys) depends on the text
 * inputs and not on the image input, and whose output reaches a {@code Softmax} through at most a
 * few element-wise ops (scale, mask, cast); the term is added after the constant scale, before any
 * mask. A {@code com.microsoft.MultiHeadAttention} node whose key comes from the text (projected
 * query, key and value; no packed projection bias) is a site too: the term, computed from its
 * scaled scores, goes into its {@code attention_bias} input (there a zero bias is not bit-identical,
 * only within 1e-5 relative, because ONNX Runtime's kernel takes another path when given a bias).
 * Self-attention (keys from the image) and joint attention (keys from both, SD3's MMDiT) are left
 * alone; a graph with no site, or whose cross-attention is another fused form (ONNX
 * {@code Attention}, packed MHA variants), is refused with the reason. The latent H and W must be
 * multiples of every site's downsampling factor (true for the U-Nets' usual sizes); otherwise the
 * rewritten graph fails at run time in a Reshape. Instances are immutable and thread-safe.
 */
public final class AttentionBiasRewrite {

    /** Bumped whenever the emitted graph changes, so that cached rewrites of older versions are not reused. */
    public static final int VERSION = 1;

    private static final Set<String> PASS_THROUGH = Set.of("Mul", "Div", "Add", "Sub", "Cast", "Where", "Identity");
    private static final Set<String> FUSED = Set.of("MultiHeadAttention", "Attention", "PackedMultiHeadAttention",
            "GroupQueryAttention", "DecoderMaskedMultiHeadAttention", "PackedAttention");
    private static final Set<String> SCALE = Set.of("Mul", "Div", "Cast", "Identity");
    private static final Set<String> SHAPE_ONLY = Set.of("Shape", "Size");
    private static final int MAX_HOPS = 4;
    private static final String MODEL_FILE = "model.onnx";

    private final List<String> textInputs;
    private final List<String> imageInputs;
    private final String biasInput;
    private final String sigmaInput;
    private final boolean attentionOutputs;

    private AttentionBiasRewrite(Builder b) {
        this.textInputs = List.copyOf(b.textInputs);
        this.imageInputs = List.copyOf(b.imageInputs);
        this.biasInput = b.biasInput;
        this.sigmaInput = b.sigmaInput;
        this.attentionOutputs = b.attentionOutputs;
    }

    /**
     * The rewrite for diffusers' exports: text states {@code encoder_hidden_states}, image input
     * {@code sample} (U-Nets) or {@code hidden_states} (transformers), new inputs
     * {@code attention_bias} and {@code sigma}.
     *
     * @return the default rewrite
     */
    public static AttentionBiasRewrite defaults() {
        return builder().build();
    }

    /**
     * A builder starting from {@link #defaults()}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Finds the cross-attention sites of a model without writing anything.
     *
     * @param model the ONNX file
     * @return the sites, in graph order (never empty)
     * @throws EDiffException when the file cannot be read or the graph cannot be rewritten, naming the model and why
     */
    public List<AttentionSite> sites(Path model) {
        return analyse(read(model)).sites();
    }

    /**
     * Returns the rewritten model for {@code model}, writing it into {@code cacheDir} the first time.
     * The cache entry is a folder named by the cache key holding {@code model.onnx} and hard links
     * to (or, across file systems, copies of) the original's external data files. The
     * original file is only read.
     *
     * @param model    the ONNX file of the denoiser
     * @param cacheDir the cache folder (created when missing)
     * @return where the rewritten model is and what it takes
     * @throws EDiffException when the file cannot be read, the graph cannot be rewritten, or the cache cannot be written
     */
    public RewrittenModel ensure(Path model, Path cacheDir) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(cacheDir, "cacheDir");
        OnnxModelFile file = read(model);
        Analysis a = analyse(file);
        String key = cacheKey(file);
        Path entry = cacheDir.resolve(key);
        Path out = entry.resolve(MODEL_FILE);
        if (Files.isRegularFile(out)) {
            return new RewrittenModel(out, key, biasInput, a.sigma(), a.sites(), true);
        }
        try {
            Files.createDirectories(entry);
            linkExternalData(file, entry);
            Path tmp = Files.createTempFile(entry, MODEL_FILE, ".tmp");
            try {
                write(file, a, tmp);
                CacheFiles.moveIntoPlace(tmp, out);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new EDiffException(model + ": could not write the rewritten model to " + entry + ": " + e.getMessage(), e);
        }
        return new RewrittenModel(out, key, biasInput, a.sigma(), a.sites(), false);
    }

    private static OnnxModelFile read(Path model) {
        try {
            return OnnxModelFile.read(model);
        } catch (IOException e) {
            throw new EDiffException(model + ": cannot read the model: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new EDiffException(model + ": " + e.getMessage(), e);
        }
    }

    private EDiffException refuse(OnnxModelFile f, String why) {
        return new EDiffException(f.path + ": paint-with-words cannot be added to this model: " + why);
    }

    // ---------------------------------------------------------------------------------------- analysis

    private record Analysis(List<AttentionSite> sites, List<Node> siteNodes, String image, String sigma,
                            boolean sigmaIsNew) {
    }

    private Analysis analyse(OnnxModelFile f) {
        if (f.opset < 13) {
            throw refuse(f, "its default opset is " + f.opset + "; the rewrite needs opset 13 or newer");
        }
        Set<String> inputs = new HashSet<>(f.inputs);
        List<String> text = textInputs.stream().filter(inputs::contains).toList();
        if (text.isEmpty()) {
            throw refuse(f, "it has no text-state input " + textInputs + " (its inputs: " + f.inputs
                    + "); name the text inputs with AttentionBiasRewrite.builder().textInputs(...)");
        }
        String image = imageInputs.stream().filter(inputs::contains).findFirst().orElseThrow(() -> refuse(f,
                "it has no image input " + imageInputs + " (its inputs: " + f.inputs
                        + "); name it with AttentionBiasRewrite.builder().imageInputs(...)"));
        if (inputs.contains(biasInput)) {
            throw refuse(f, "it already has an input named '" + biasInput + "': feed that input directly");
        }
        Set<String> fromText = dependents(f, Set.copyOf(text));
        Set<String> fromImage = dependents(f, Set.of(image));
        Map<String, List<Node>> consumers = new HashMap<>();
        for (Node n : f.nodes) {
            for (String in : n.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        Map<String, Node> producers = new HashMap<>();
        for (Node n : f.nodes) {
            n.outputs().forEach(o -> producers.put(o, n));
        }
        List<AttentionSite> sites = new ArrayList<>();
        List<Node> siteNodes = new ArrayList<>();
        List<String> joint = new ArrayList<>();
        List<String> fused = new ArrayList<>();
        for (Node n : f.nodes) {
            if (FUSED.contains(n.opType()) && n.inputs().size() > 1 && fromText.contains(n.inputs().get(1))
                    && !fromImage.contains(n.inputs().get(1))) {
                String why = f.opset < 15 ? "the graph's opset is below 15" : fusedProblem(n, producers);
                if (why == null) {
                    sites.add(new AttentionSite(n.name(), "", n.name(), ""));
                    siteNodes.add(n);
                } else {
                    fused.add((n.domain().isEmpty() ? "" : n.domain() + ".") + n.opType() + " '" + n.name() + "' ("
                            + why + ")");
                }
                continue;
            }
            if (!n.opType().equals("MatMul") || !n.domain().isEmpty() || n.inputs().size() != 2) {
                continue;
            }
            String q = n.inputs().get(0);
            String k = n.inputs().get(1);
            if (!fromText.contains(k)) {
                continue;
            }
            Site site = siteAfter(n, consumers);
            if (site == null) {
                continue;
            }
            if (fromImage.contains(k)) {
                joint.add(n.name());
            } else if (fromImage.contains(q)) {
                sites.add(new AttentionSite(n.name(), site.at().outputs().get(0), site.softmax().name(),
                        site.softmax().outputs().get(0)));
                siteNodes.add(site.at());
            }
        }
        if (!fused.isEmpty()) {
            throw refuse(f, "its cross-attention is fused into " + String.join(", ", fused)
                    + ", a form whose scores the rewrite cannot reach (export without attention fusion)");
        }
        if (sites.isEmpty()) {
            throw refuse(f, joint.isEmpty()
                    ? "no cross-attention found (no MatMul with keys from " + text + " only feeds a Softmax)"
                    : "its attention is joint over image and text tokens (" + joint.size()
                    + " site(s), as in SD3's MMDiT); only cross-attention with keys from " + text + " is supported");
        }
        boolean hasSigma = inputs.contains(sigmaInput);
        return new Analysis(List.copyOf(sites), List.copyOf(siteNodes), image, sigmaInput, !hasSigma);
    }

    /**
     * Why a fused attention node cannot take the bias, or null when it can: only
     * {@code com.microsoft.MultiHeadAttention} with separate projected query, key and value
     * ([B, S, hidden], [B, L, hidden]: the key made by a projection) and no packed projection bias;
     * the bias then goes into its {@code attention_bias} input (index 5).
     */
    private static String fusedProblem(Node n, Map<String, Node> producers) {
        if (!n.opType().equals("MultiHeadAttention") || !n.domain().equals("com.microsoft")) {
            return "only com.microsoft.MultiHeadAttention is supported";
        }
        if (n.inputs().size() < 3 || n.inputs().get(2).isEmpty()) {
            return "packed key/value";
        }
        if (n.inputs().size() > 3 && !n.inputs().get(3).isEmpty()) {
            return "packed projection bias input";
        }
        if (n.inputs().size() > 6) {
            return "past key/value inputs";
        }
        if (n.intAttribute("num_heads", 0) <= 0) {
            return "no num_heads";
        }
        Node key = producers.get(n.inputs().get(1));
        if (key == null || !Set.of("MatMul", "Gemm", "Add").contains(key.opType())) {
            return "its key is not a projection output, so it may be in the per-head layout";
        }
        return null;
    }

    /**
     * Every tensor whose values are computed from the given inputs (nodes are visited until nothing
     * changes, so order does not matter). Shapes do not count: exporters reshape the text keys with
     * the batch size read from the image, which does not make them image features.
     */
    private static Set<String> dependents(OnnxModelFile f, Set<String> roots) {
        Set<String> dep = new HashSet<>(roots);
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Node n : f.nodes) {
                if (SHAPE_ONLY.contains(n.opType())) {
                    continue;
                }
                if (n.inputs().stream().anyMatch(dep::contains)) {
                    for (String o : n.outputs()) {
                        changed |= dep.add(o);
                    }
                }
            }
        }
        return dep;
    }

    /** Where the bias goes (the node whose output is rewritten) and the softmax it reaches. */
    private record Site(Node at, Node softmax) {
    }

    /**
     * Follows the scores to their softmax through single-consumer element-wise ops. The bias goes
     * after the scale ops that directly follow the product (before any mask is added, as in the
     * miniature model): there the maximum is the scaled {@code max(Q K^T)}, and ONNX Runtime's
     * fusion of a MatMul with its scale still happens, so a zero bias keeps every bit.
     */
    private static Site siteAfter(Node matMul, Map<String, List<Node>> consumers) {
        Node at = matMul;
        boolean scaling = true;
        String t = matMul.outputs().get(0);
        for (int hop = 0; hop <= MAX_HOPS; hop++) {
            List<Node> users = consumers.getOrDefault(t, List.of());
            if (users.size() != 1) {
                return null;
            }
            Node u = users.get(0);
            if (u.opType().equals("Softmax") && u.domain().isEmpty()) {
                return new Site(at, u);
            }
            if (!PASS_THROUGH.contains(u.opType()) || !u.domain().isEmpty() || u.outputs().size() != 1) {
                return null;
            }
            scaling &= SCALE.contains(u.opType());
            if (scaling) {
                at = u;
            }
            t = u.outputs().get(0);
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------- emission

    /** Builds the added nodes and initializers; every name starts with "pww/" so it cannot clash. */
    private static final class Emitter {
        final long opset;
        final List<ByteBuffer> nodes = new ArrayList<>();
        final List<ByteBuffer> initializers = new ArrayList<>();
        private int next;

        Emitter(long opset) {
            this.opset = opset;
        }

        String fresh(String what) {
            return "pww/" + what + "_" + next++;
        }

        String node(String op, List<String> in, Writer... attributes) {
            String out = fresh(op);
            node(op, in, out, attributes);
            return out;
        }

        void node(String op, List<String> in, String out, Writer... attributes) {
            Writer n = new Writer();
            for (String i : in) {
                n.string(OnnxModelFile.NODE_INPUT, i);
            }
            n.string(OnnxModelFile.NODE_OUTPUT, out);
            n.string(OnnxModelFile.NODE_NAME, out);
            n.string(OnnxModelFile.NODE_OP_TYPE, op);
            for (Writer a : attributes) {
                n.message(OnnxModelFile.NODE_ATTRIBUTE, a);
            }
            nodes.add(n.toBuffer());
        }

        String ints(long... values) {
            String name = fresh("const");
            Writer t = new Writer();
            t.varint(1, values.length); // dims
            t.varint(2, 7); // INT64
            t.string(OnnxModelFile.TENSOR_NAME, name);
            ByteBuffer raw = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : values) {
                raw.putLong(v);
            }
            t.bytes(9, raw.array());
            initializers.add(t.toBuffer());
            return name;
        }

        String scalarFloat(float value) {
            String name = fresh("const");
            Writer t = new Writer();
            t.varint(2, 1); // FLOAT, rank 0
            t.string(OnnxModelFile.TENSOR_NAME, name);
            t.bytes(9, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value).array());
            initializers.add(t.toBuffer());
            return name;
        }

        static Writer intAttr(String name, long v) {
            return new Writer().string(1, name).varint(20, 2).varint(3, v);
        }

        static Writer intsAttr(String name, long... v) {
            Writer w = new Writer().string(1, name).varint(20, 7);
            for (long x : v) {
                w.varint(8, x);
            }
            return w;
        }

        /** ReduceMean/ReduceMax: axes became an input in opset 18. */
        String reduce(String op, String x, boolean keep, long... axes) {
            if (opset >= 18) {
                return node(op, List.of(x, ints(axes)), intAttr("keepdims", keep ? 1 : 0));
            }
            return node(op, List.of(x), intsAttr("axes", axes), intAttr("keepdims", keep ? 1 : 0));
        }

        String unsqueeze(String x, long... axes) {
            return node("Unsqueeze", List.of(x, ints(axes)));
        }

        String gather(String shape, long index) {
            return node("Gather", List.of(shape, ints(index)), intAttr("axis", 0));
        }

        String concat(String... parts) {
            return node("Concat", List.of(parts), intAttr("axis", 0));
        }
    }

    private static Writer valueInfo(String name, int elemType, String... dims) {
        Writer shape = new Writer();
        for (String d : dims) {
            shape.message(1, new Writer().string(2, d));
        }
        Writer tensor = new Writer().varint(1, elemType).message(2, shape);
        return new Writer().string(1, name).message(2, new Writer().message(1, tensor));
    }

    private void write(OnnxModelFile f, Analysis a, Path out) throws IOException {
        Emitter e = new Emitter(f.opset);
        // shared: log(1 + sigma) as [B,1,1,1]; the bias as [B,T,H,W]; H, W, H*W, B, T as 1-D int64
        String ls = e.node("Log", List.of(e.node("Add", List.of(a.sigma(), e.scalarFloat(1f)))));
        String ls4 = e.node("Reshape", List.of(ls, e.ints(-1, 1, 1, 1)));
        String imageShape = e.node("Shape", List.of(a.image()));
        String h = e.gather(imageShape, 2);
        String w = e.gather(imageShape, 3);
        String hw = e.node("Mul", List.of(h, w));
        String biasShape = e.node("Shape", List.of(biasInput));
        String b = e.gather(biasShape, 0);
        String t = e.gather(biasShape, 2);
        String bt = e.node("Transpose", List.of(biasInput), Emitter.intsAttr("perm", 0, 2, 1));
        String bias4 = e.node("Reshape", List.of(bt, e.concat(b, t, h, w)));
        List<ByteBuffer> shared = new ArrayList<>(e.nodes);
        e.nodes.clear();

        Map<Integer, ByteBuffer> replaced = new HashMap<>();
        Map<Integer, List<ByteBuffer>> after = new LinkedHashMap<>();
        Shared sh = new Shared(ls4, h, w, hw, b, t, bias4);
        Map<Integer, List<ByteBuffer>> before = new LinkedHashMap<>();
        for (Node n : a.siteNodes()) {
            if (n.opType().equals("MultiHeadAttention")) {
                // MHA adds attention_bias to scale * Q K^T: recompute the scaled scores for their maximum
                long heads = n.intAttribute("num_heads", 0);
                String q = n.inputs().get(0);
                String k = n.inputs().get(1);
                String perHead = e.ints(0, 0, heads, -1);
                String q4 = e.node("Transpose", List.of(e.node("Reshape", List.of(q, perHead))),
                        Emitter.intsAttr("perm", 0, 2, 1, 3));
                String kt = e.node("Transpose", List.of(e.node("Reshape", List.of(k, perHead))),
                        Emitter.intsAttr("perm", 0, 2, 3, 1));
                String scores = e.node("MatMul", List.of(q4, kt));
                float scale = n.floatAttribute("scale", 0f);
                String scaleT;
                if (scale != 0f) {
                    scaleT = e.node("CastLike", List.of(e.scalarFloat(scale), scores));
                } else {
                    String d = e.node("Cast", List.of(e.gather(e.node("Shape", List.of(q4)), 3)), Emitter.intAttr("to", 1));
                    scaleT = e.node("CastLike", List.of(e.node("Reciprocal", List.of(e.node("Sqrt", List.of(d)))), scores));
                }
                String scaled = e.node("Mul", List.of(scores, scaleT));
                String term = biasTerm(e, sh, scaled);
                String existing = n.inputs().size() > 5 ? n.inputs().get(5) : "";
                String biasIn = existing.isEmpty() ? term : e.node("Add", List.of(existing, term));
                List<String> inputs = new ArrayList<>(n.inputs());
                while (inputs.size() < 6) {
                    inputs.add("");
                }
                inputs.set(5, biasIn);
                replaced.put(n.field(), replaceInputs(n, inputs));
                before.put(n.field(), new ArrayList<>(e.nodes));
                e.nodes.clear();
                continue;
            }
            String scores = n.outputs().get(0);
            String raw = e.fresh("scores");
            replaced.put(n.field(), renameOutput(n, raw));
            e.node("Add", List.of(raw, biasTerm(e, sh, raw)), scores);
            after.put(n.field(), new ArrayList<>(e.nodes));
            e.nodes.clear();
        }

        List<ByteBuffer> graph = new ArrayList<>();
        boolean sharedDone = false;
        for (int i = 0; i < f.graphFields.size(); i++) {
            Field g = f.graphFields.get(i);
            if (g.number() == OnnxModelFile.GRAPH_NODE && !sharedDone) {
                addAll(graph, OnnxModelFile.GRAPH_NODE, shared);
                sharedDone = true;
            }
            if (before.containsKey(i)) {
                addAll(graph, OnnxModelFile.GRAPH_NODE, before.get(i));
            }
            ByteBuffer r = replaced.get(i);
            if (r != null) {
                graph.add(ByteBuffer.wrap(ProtoWire.header(OnnxModelFile.GRAPH_NODE, r.remaining())));
                graph.add(r);
            } else {
                graph.add(ProtoWire.encoded(g));
            }
            if (after.containsKey(i)) {
                addAll(graph, OnnxModelFile.GRAPH_NODE, after.get(i));
            }
        }
        addAll(graph, OnnxModelFile.GRAPH_INITIALIZER, e.initializers);
        graph.add(new Writer().message(OnnxModelFile.GRAPH_INPUT,
                valueInfo(biasInput, 1, "batch", "positions", "tokens")).toBuffer());
        if (a.sigmaIsNew()) {
            graph.add(new Writer().message(OnnxModelFile.GRAPH_INPUT, valueInfo(a.sigma(), 1, "batch")).toBuffer());
        }
        if (attentionOutputs) {
            for (AttentionSite s : a.sites()) {
                if (!s.attention().isEmpty() && !f.outputs.contains(s.attention())) {
                    graph.add(new Writer().message(OnnxModelFile.GRAPH_OUTPUT, new Writer().string(1, s.attention()))
                            .toBuffer());
                }
            }
        }
        long graphLength = 0;
        for (ByteBuffer c : graph) {
            graphLength += c.remaining();
        }
        if (graphLength > Integer.MAX_VALUE) {
            throw new EDiffException(f.path + ": the rewritten graph would exceed the 2 GB protobuf limit");
        }
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (int i = 0; i < f.modelFields.size(); i++) {
                if (i == f.graphFieldIndex) {
                    writeFully(ch, ByteBuffer.wrap(ProtoWire.header(OnnxModelFile.MODEL_GRAPH, graphLength)));
                    for (ByteBuffer c : graph) {
                        writeFully(ch, c.duplicate());
                    }
                } else {
                    writeFully(ch, ProtoWire.encoded(f.modelFields.get(i)));
                }
            }
        }
    }

    /** Tensors every site uses: log(1 + sigma) as [B,1,1,1]; latent H, W, H*W, batch B, tokens T (1-D int64); the bias as [B,T,H,W]. */
    private record Shared(String ls4, String h, String w, String hw, String b, String t, String bias4) {
    }

    /**
     * The term {@code bias * log(1 + sigma) * max(scores)} in the shape and type of {@code scores}
     * ([B, heads, N, T] or [B*heads, N, T]), the bias average-pooled to N = (H/f)(W/f) queries, with
     * the factor f = sqrt(H*W/N) computed at run time (the latent size is a dynamic axis).
     */
    private static String biasTerm(Emitter e, Shared s, String raw) {
        String scoreShape = e.node("Shape", List.of(raw));
        String queries = e.gather(scoreShape, -2);
        String f2 = e.node("Cast", List.of(e.node("Div", List.of(s.hw(), queries))), Emitter.intAttr("to", 1));
        String factor = e.node("Cast", List.of(e.node("Round", List.of(e.node("Sqrt", List.of(f2))))),
                Emitter.intAttr("to", 7));
        String hs = e.node("Div", List.of(s.h(), factor));
        String ws = e.node("Div", List.of(s.w(), factor));
        String blocks = e.node("Reshape", List.of(s.bias4(), e.concat(s.b(), s.t(), hs, factor, ws, factor)));
        String pooled = e.reduce("ReduceMean", blocks, false, 3, 5);
        String flat = e.node("Reshape", List.of(pooled, e.concat(s.b(), s.t(), queries)));
        String nt = e.node("Transpose", List.of(flat), Emitter.intsAttr("perm", 0, 2, 1));
        String weighted = e.node("Mul", List.of(e.unsqueeze(nt, 1), s.ls4()));
        // heads = size / (B*N*T); [B,1,N,T] -> [B,heads,N,T] -> the scores' own shape
        String heads = e.node("Div", List.of(e.node("Size", List.of(raw)),
                e.node("Mul", List.of(e.node("Mul", List.of(s.b(), queries)), s.t()))));
        String expanded = e.node("Expand", List.of(weighted, e.concat(s.b(), heads, queries, s.t())));
        String shaped = e.node("Reshape", List.of(expanded, scoreShape));
        String max = e.node("Cast", List.of(e.reduce("ReduceMax", raw, true, -2, -1)), Emitter.intAttr("to", 1));
        String term = e.node("Mul", List.of(shaped, max));
        return e.opset >= 15 ? e.node("CastLike", List.of(term, raw)) : term;
    }

    private static ByteBuffer replaceInputs(Node n, List<String> inputs) {
        Writer w = new Writer();
        boolean done = false;
        for (Field f : n.fields()) {
            if (f.number() == OnnxModelFile.NODE_INPUT && f.wire() == ProtoWire.LEN) {
                if (!done) {
                    inputs.forEach(i -> w.string(OnnxModelFile.NODE_INPUT, i));
                    done = true;
                }
            } else {
                w.field(f);
            }
        }
        return w.toBuffer();
    }

    private static void addAll(List<ByteBuffer> graph, int number, List<ByteBuffer> messages) {
        for (ByteBuffer m : messages) {
            graph.add(ByteBuffer.wrap(ProtoWire.header(number, m.remaining())));
            graph.add(m);
        }
    }


    private static ByteBuffer renameOutput(Node n, String output) {
        Writer w = new Writer();
        for (Field f : n.fields()) {
            if (f.number() == OnnxModelFile.NODE_OUTPUT && f.wire() == ProtoWire.LEN) {
                w.string(OnnxModelFile.NODE_OUTPUT, output);
            } else {
                w.field(f);
            }
        }
        return w.toBuffer();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void linkExternalData(OnnxModelFile f, Path entry) throws IOException {
        Path folder = f.path.toAbsolutePath().getParent();
        for (String location : f.externalData) {
            Path source = folder.resolve(location).normalize();
            Path target = entry.resolve(location).normalize();
            if (!target.startsWith(entry) || !source.startsWith(folder)) {
                throw new EDiffException(f.path + ": external data location '" + location
                        + "' leaves the model's folder; ONNX Runtime would refuse it too");
            }
            if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            Files.createDirectories(target.getParent());
            // a hard link, not a symbolic one: ONNX Runtime resolves links and refuses data outside the model's folder
            try {
                Files.createLink(target, source);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // another process is filling the same cache entry
            } catch (UnsupportedOperationException | IOException e) {
                try {
                    Files.copy(source, target);
                } catch (java.nio.file.FileAlreadyExistsException again) {
                    // as above
                }
            }
        }
    }

    private String cacheKey(OnnxModelFile f) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(f.bytes.duplicate());
            String options = "\nediff attention-bias rewrite v" + VERSION + " text=" + textInputs + " image=" + imageInputs
                    + " bias=" + biasInput + " sigma=" + sigmaInput + " attentionOutputs=" + attentionOutputs;
            sha.update(options.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    @Override
    public String toString() {
        return "AttentionBiasRewrite[v" + VERSION + ", text=" + textInputs + ", image=" + imageInputs + ", bias="
                + biasInput + ", sigma=" + sigmaInput + (attentionOutputs ? ", attention outputs" : "") + "]";
    }

    /** Builds an {@link AttentionBiasRewrite}; starts from the diffusers defaults. */
    public static final class Builder {
        private List<String> textInputs = List.of("encoder_hidden_states");
        private List<String> imageInputs = List.of("sample", "hidden_states");
        private String biasInput = "attention_bias";
        private String sigmaInput = "sigma";
        private boolean attentionOutputs;

        private Builder() {
        }

        /**
         * The graph inputs that carry text states (keys of a cross-attention come from these only).
         *
         * @param names input names, at least one; those the model lacks are ignored
         * @return this builder
         */
        public Builder textInputs(String... names) {
            this.textInputs = names(names, "textInputs");
            return this;
        }

        /**
         * The candidate names of the image input (NCHW latents), the first present is used; it sets
         * the latent resolution of the bias and tells self-attention from cross-attention.
         *
         * @param names input names, at least one
         * @return this builder
         */
        public Builder imageInputs(String... names) {
            this.imageInputs = names(names, "imageInputs");
            return this;
        }

        /**
         * The name of the added bias input (default {@code attention_bias}).
         *
         * @param name a name the model does not use
         * @return this builder
         */
        public Builder biasInput(String name) {
            this.biasInput = names(new String[] {name}, "biasInput").get(0);
            return this;
        }

        /**
         * The name of the sigma input: used as it is when the model has it, added otherwise (default {@code sigma}).
         *
         * @param name the input name
         * @return this builder
         */
        public Builder sigmaInput(String name) {
            this.sigmaInput = names(new String[] {name}, "sigmaInput").get(0);
            return this;
        }

        /**
         * Also makes every site's attention probabilities a graph output (named as in
         * {@link AttentionSite#attention()}; not for fused sites, whose probabilities stay inside
         * the fused op), for inspecting where the words land.
         *
         * @param on whether to add the outputs (default false)
         * @return this builder
         */
        public Builder attentionOutputs(boolean on) {
            this.attentionOutputs = on;
            return this;
        }

        /**
         * Builds the rewrite.
         *
         * @return an immutable rewrite
         */
        public AttentionBiasRewrite build() {
            return new AttentionBiasRewrite(this);
        }

        private static List<String> names(String[] names, String what) {
            if (names == null || names.length == 0
                    || java.util.Arrays.stream(names).anyMatch(n -> n == null || n.isBlank())) {
                throw new IllegalArgumentException(what + " needs at least one non-blank name, got "
                        + (names == null ? "null" : java.util.Arrays.toString(names)));
            }
            return java.util.Arrays.stream(names).collect(Collectors.toUnmodifiableList());
        }
    }
}
