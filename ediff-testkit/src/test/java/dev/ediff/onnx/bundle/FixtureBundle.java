package dev.ediff.onnx.bundle;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.core.text.Tokenizers;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.testkit.analytic.OnnxGraphBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

import static dev.ediff.testkit.analytic.OnnxGraphBuilder.attr;

/**
 * A complete, tiny model bundle written into a folder: a T5 and a CLIP text encoder (token ids ->
 * Gather from a random embedding table, CLIP also a pooled mean), hand-written tokenizer.json files
 * (T5 Unigram, CLIP byte-level BPE), a style image encoder, a base stage of three experts and a
 * super-resolution stage of two, all random-weight ONNX graphs made in code. Every expert provably
 * uses every conditioning input it is given: each input goes through its own random projection into
 * a per-channel bias, so switching an encoder off or adding a style image changes the output.
 *
 * <p>Tests break one thing at a time: {@link #edit} changes the manifest, {@link #write} replaces
 * a file (e.g. with {@link Expert#build()} of a broken variant), {@link #reset} restores everything.
 */
public final class FixtureBundle {

    static final int T5_LEN = 8;
    static final int T5_DIM = 6;
    static final int CLIP_LEN = 8;
    static final int CLIP_DIM = 5;
    static final int IMAGE_SIZE = 16;
    static final int IMAGE_DIM = 4;
    static final int BASE_RES = 8;
    static final int SR_RES = 16;

    /** Base-stage expert boundaries: low [0.002, 0.5), mid [0.5, 5), high [5, inf). */
    static final double BASE_SIGMA_MIN = 0.002;
    static final double BASE_SPLIT_LO = 0.5;
    static final double BASE_SPLIT_HI = 5.0;
    static final double SR_SPLIT = 1.0;

    /** One intra-op thread per session: the tests run on two shared cores. */
    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(1).build();

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Every file of the default bundle, relative path -> bytes (built once, shared by all fixtures). */
    private static Map<String, byte[]> defaults;

    final Path dir;
    private ObjectNode manifest;

    private FixtureBundle(Path dir) {
        this.dir = dir;
    }

    /** Writes the complete default bundle into {@code dir} (created if needed). */
    public static FixtureBundle create(Path dir) {
        FixtureBundle f = new FixtureBundle(dir);
        f.reset();
        return f;
    }

    /** Restores every file and the manifest to the defaults (removing symbolic links put in their place). */
    FixtureBundle reset() {
        try {
            Files.createDirectories(dir);
            for (Map.Entry<String, byte[]> e : files().entrySet()) {
                write(e.getKey(), e.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        manifest = defaultManifest();
        writeManifest();
        return this;
    }

    /** The manifest as last written (a live tree: call {@link #writeManifest} after changing it, or use {@link #edit}). */
    ObjectNode manifest() {
        return manifest;
    }

    /** Changes the manifest and writes it. */
    FixtureBundle edit(Consumer<ObjectNode> change) {
        change.accept(manifest);
        writeManifest();
        return this;
    }

    void writeManifest() {
        try {
            Files.write(dir.resolve(Manifest.FILE), JSON.writeValueAsBytes(manifest));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces (or creates) a file of the bundle; a symbolic link in its place is removed first. */
    FixtureBundle write(String file, byte[] bytes) {
        try {
            Path p = dir.resolve(file);
            Files.createDirectories(p.getParent());
            Files.deleteIfExists(p);
            Files.write(p, bytes);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    FixtureBundle delete(String file) {
        try {
            Files.deleteIfExists(dir.resolve(file));
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The manifest JSON object of stage {@code k}. */
    ObjectNode stage(int k) {
        return (ObjectNode) manifest.get("stages").get(k);
    }

    /** The manifest JSON object of expert {@code i} of stage {@code k}. */
    ObjectNode expert(int k, int i) {
        return (ObjectNode) stage(k).get("experts").get(i);
    }

    /** The manifest JSON object of text encoder {@code i} (0 = t5, 1 = clip). */
    ObjectNode textEncoder(int i) {
        return (ObjectNode) manifest.get("text_encoders").get(i);
    }

    // ------------------------------------------------------------------ the default bundle

    static synchronized Map<String, byte[]> files() {
        if (defaults == null) {
            Map<String, byte[]> m = new LinkedHashMap<>();
            byte[] t5Tok = t5TokenizerJson();
            byte[] clipTok = clipTokenizerJson();
            m.put("t5/tokenizer.json", t5Tok);
            m.put("t5/encoder.onnx", new TextEncoderGraph(false, vocabSize(t5Tok)).build());
            m.put("clip/tokenizer.json", clipTok);
            m.put("clip/text.onnx", new TextEncoderGraph(true, vocabSize(clipTok)).build());
            m.put("clip/image.onnx", imageEncoder(IMAGE_DIM));
            m.put("base/low.onnx", Expert.base(11, 0.95f).build());
            m.put("base/mid.onnx", Expert.base(12, 0.85f).build());
            m.put("base/high.onnx", Expert.base(13, 0.75f).build());
            m.put("sr/low.onnx", Expert.sr(21, 0.9f).build());
            m.put("sr/high.onnx", Expert.sr(22, 0.8f).build());
            defaults = Map.copyOf(m);
        }
        return defaults;
    }

    private static int vocabSize(byte[] tokenizerJson) {
        return Tokenizers.load(tokenizerJson, "fixture tokenizer").vocabSize();
    }

    static ObjectNode defaultManifest() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format_version", 1);
        root.put("name", "fixture-ediff");
        root.put("description", "random-weight test bundle");
        ArrayNode te = root.putArray("text_encoders");
        ObjectNode t5 = te.addObject().put("role", "t5").put("model", "t5/encoder.onnx").put("tokenizer", "t5/tokenizer.json")
                .put("max_tokens", T5_LEN).put("pad_id", 0);
        t5.putObject("inputs").put("input_ids", "input_ids").put("attention_mask", "attention_mask");
        t5.putObject("outputs").put("tokens", "tokens");
        t5.put("dim", T5_DIM).put("off", "zeros");
        ObjectNode clip = te.addObject().put("role", "clip").put("model", "clip/text.onnx")
                .put("tokenizer", "clip/tokenizer.json").put("max_tokens", CLIP_LEN);
        clip.putObject("inputs").put("input_ids", "input_ids").put("attention_mask", "attention_mask");
        clip.putObject("outputs").put("tokens", "tokens").put("pooled", "pooled");
        clip.put("dim", CLIP_DIM).put("off", "zeros");
        ObjectNode img = root.putObject("image_encoder").put("model", "clip/image.onnx").put("input", "pixel_values")
                .put("output", "image_embeds").put("size", IMAGE_SIZE);
        img.putArray("mean").add(0.48).add(0.46).add(0.41);
        img.putArray("std").add(0.27).add(0.26).add(0.28);
        img.put("dim", IMAGE_DIM);

        ArrayNode stages = root.putArray("stages");
        ObjectNode base = stages.addObject().put("name", "base");
        base.putArray("resolution").add(BASE_RES).add(BASE_RES);
        base.put("channels", 3).put("parameterization", "x0").put("sigma_min", BASE_SIGMA_MIN).put("sigma_max", 80.0)
                .put("rho", 7.0);
        conditioningInputs(base.putObject("inputs"), false);
        base.put("output", "denoised");
        ArrayNode be = base.putArray("experts");
        be.addObject().put("name", "low").put("model", "base/low.onnx").put("sigma_lo", BASE_SIGMA_MIN)
                .put("sigma_hi", BASE_SPLIT_LO);
        be.addObject().put("name", "mid").put("model", "base/mid.onnx").put("sigma_lo", BASE_SPLIT_LO)
                .put("sigma_hi", BASE_SPLIT_HI);
        be.addObject().put("name", "high").put("model", "base/high.onnx").put("sigma_lo", BASE_SPLIT_HI);
        base.putObject("defaults").put("sampler", "heun").put("steps", 8).put("guidance", 2.0);

        ObjectNode sr = stages.addObject().put("name", "sr");
        sr.putArray("resolution").add(SR_RES).add(SR_RES);
        sr.put("channels", 3).put("parameterization", "x0").put("sigma_min", BASE_SIGMA_MIN).put("sigma_max", 20.0);
        conditioningInputs(sr.putObject("inputs"), true);
        sr.put("output", "denoised");
        ArrayNode se = sr.putArray("experts");
        se.addObject().put("name", "sr_low").put("model", "sr/low.onnx").put("sigma_lo", 0.0).put("sigma_hi", SR_SPLIT);
        se.addObject().put("name", "sr_high").put("model", "sr/high.onnx").put("sigma_lo", SR_SPLIT);
        sr.putObject("defaults").put("sampler", "euler").put("steps", 4).put("guidance", 1.5)
                .put("augmentation_sigma", 0.1);
        return root;
    }

    private static void conditioningInputs(ObjectNode in, boolean sr) {
        in.put("x", "x").put("sigma", "sigma").put("sigma_shape", "batch");
        for (String role : Expert.TEXT_ROLES) {
            in.put(role, role);
        }
        in.put("image_embedding", "image_embedding");
        if (sr) {
            in.put("low_res", "low_res").put("augmentation_sigma", "aug_sigma");
        }
    }

    // ------------------------------------------------------------------ tokenizers

    /** Words the T5 vocabulary knows whole; anything else falls back to letters (or <unk>). */
    static final List<String> T5_WORDS = List.of("a", "red", "blue", "cat", "dog", "on", "the", "hat", "in", "photo", "of");

    /** A T5-layout Unigram tokenizer.json: pad 0, </s> 1, <unk> 2, then pieces. */
    static byte[] t5TokenizerJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0").putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<pad>", "</s>", "<unk>"};
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode norm = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "NFKC");
        ns.addObject().put("type", "Lowercase");
        ns.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("Regex", " {2,}");
        root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "\u2581")
                .put("prepend_scheme", "always").put("split", true);
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("SpecialToken").put("id", "</s>").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "</s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "</s>").put("type_id", 0);
        ObjectNode st = post.putObject("special_tokens").putObject("</s>").put("id", "</s>");
        st.putArray("ids").add(1);
        st.putArray("tokens").add("</s>");
        root.putObject("decoder").put("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "always")
                .put("split", true);
        ObjectNode model = root.putObject("model").put("type", "Unigram").put("unk_id", 2).put("byte_fallback", false);
        ArrayNode vocab = model.putArray("vocab");
        for (String s : specials) {
            vocab.addArray().add(s).add(0.0);
        }
        vocab.addArray().add("\u2581").add(-2.0);
        for (String w : T5_WORDS) {
            vocab.addArray().add("\u2581" + w).add(-1.0);
        }
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.addArray().add(String.valueOf(c)).add(-3.0);
        }
        for (char c = '0'; c <= '9'; c++) {
            vocab.addArray().add(String.valueOf(c)).add(-3.0);
        }
        return bytes(root);
    }

    /**
     * A CLIP-layout byte-level BPE tokenizer.json: the 256 byte symbols, the same with {@code </w>},
     * a few merges (so "a red cat" is three word tokens), then start and end tokens; 518 ids.
     */
    static byte[] clipTokenizerJson() {
        List<Character> order = byteSymbols();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (char c : order) {
            vocab.put(String.valueOf(c), vocab.size());
        }
        for (char c : order) {
            vocab.put(c + "</w>", vocab.size());
        }
        String[][] merges = {{"c", "a"}, {"ca", "t</w>"}, {"r", "e"}, {"re", "d</w>"}};
        for (String[] m : merges) {
            vocab.put(m[0] + m[1], vocab.size());
        }
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0").putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : List.of("<|startoftext|>", "<|endoftext|>")) {
            added.addObject().put("id", vocab.get(s)).put("content", s).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", true).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = normalizer.putArray("normalizers");
        ns.addObject().put("type", "NFC");
        ns.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("Regex", "\\s+");
        ns.addObject().put("type", "Lowercase");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode ps = pre.putArray("pretokenizers");
        ObjectNode split = ps.addObject().put("type", "Split").put("behavior", "Removed").put("invert", true);
        split.putObject("pattern").put("Regex",
                "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+");
        ps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", false);
        ObjectNode post = root.putObject("post_processor").put("type", "RobertaProcessing");
        post.putArray("sep").add("<|endoftext|>").add(vocab.get("<|endoftext|>"));
        post.putArray("cls").add("<|startoftext|>").add(vocab.get("<|startoftext|>"));
        post.put("trim_offsets", false).put("add_prefix_space", false);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<|endoftext|>").put("continuing_subword_prefix", "").put("end_of_word_suffix", "</w>")
                .put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode m = model.putArray("merges");
        for (String[] pair : merges) {
            m.add(pair[0] + " " + pair[1]);
        }
        return bytes(root);
    }

    /** GPT-2's byte-to-symbol table in CLIP's vocabulary order: printable bytes first, then the rest. */
    private static List<Character> byteSymbols() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        List<Character> out = new ArrayList<>();
        bs.forEach(b -> out.add((char) b.intValue()));
        Set<Integer> seen = new HashSet<>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!seen.contains(b)) {
                out.add((char) (256 + n++));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ ONNX graphs

    private static float[] random(Random r, int n, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextGaussian() * scale);
        }
        return f;
    }

    /**
     * A text encoder: {@code input_ids [B, L]} -> Gather from a {@code [vocab, dim]} table, times
     * the attention mask -> {@code tokens [B, L, dim]}; for CLIP also {@code pooled [B, dim]}, the
     * mean over tokens.
     */
    static final class TextEncoderGraph {
        final boolean clip;
        int rows;
        int len;
        int dim;
        DataType idsType = DataType.INT64;
        boolean mask = true;
        String idsName = "input_ids";
        boolean dynamic;

        TextEncoderGraph(boolean clip, int rows) {
            this.clip = clip;
            this.rows = rows;
            this.len = clip ? CLIP_LEN : T5_LEN;
            this.dim = clip ? CLIP_DIM : T5_DIM;
        }

        TextEncoderGraph dim(int d) {
            this.dim = d;
            return this;
        }

        /** A symbolic token length {@code L} instead of the fixed one. */
        TextEncoderGraph dynamicLength() {
            this.dynamic = true;
            return this;
        }

        TextEncoderGraph idsType(DataType t) {
            this.idsType = t;
            return this;
        }

        byte[] build() {
            Random r = new Random(clip ? 7 : 5);
            OnnxGraphBuilder g = new OnnxGraphBuilder(clip ? "clip_text" : "t5_encoder");
            Object l = dynamic ? "L" : (Object) len;
            String ids = g.input(idsName, idsType, "B", l);
            String idx = idsType == DataType.INT64 ? ids
                    : g.node("Cast", new String[] {ids}, attr("to", DataType.INT64.getNumber()));
            String table = g.constant(random(r, rows * dim, 1.0), rows, dim);
            String emb = g.node("Gather", new String[] {table, idx}, attr("axis", 0));
            g.output("tokens", DataType.FLOAT, "B", l, dim);
            String tokens;
            if (mask) {
                String m = g.input("attention_mask", idsType, "B", l);
                String mf = g.node("Cast", new String[] {m}, attr("to", DataType.FLOAT.getNumber()));
                String m3 = g.node("Reshape", new String[] {mf, g.constant(new long[] {0, -1, 1}, 3)});
                tokens = g.node("Mul", "tokens", new String[] {emb, m3});
            } else {
                tokens = g.node("Identity", "tokens", new String[] {emb});
            }
            if (clip) {
                g.output("pooled", DataType.FLOAT, "B", dim);
                g.node("ReduceMean", "pooled", new String[] {tokens}, attr("axes", new long[] {1}), attr("keepdims", 0));
            }
            return g.build();
        }
    }

    /** The style encoder: {@code pixel_values [B, 3, S, S]} -> channel means -> MatMul -> Tanh -> {@code image_embeds [B, dim]}. */
    static byte[] imageEncoder(int dim) {
        Random r = new Random(9);
        OnnxGraphBuilder g = new OnnxGraphBuilder("clip_image");
        String px = g.input("pixel_values", DataType.FLOAT, "B", 3, IMAGE_SIZE, IMAGE_SIZE);
        g.output("image_embeds", DataType.FLOAT, "B", dim);
        String mean = g.node("ReduceMean", new String[] {px}, attr("axes", new long[] {2, 3}), attr("keepdims", 0));
        String proj = g.node("MatMul", new String[] {mean, g.constant(random(r, 3 * dim, 1.0), 3, dim)});
        g.node("Tanh", "image_embeds", new String[] {proj});
        return g.build();
    }

    /**
     * An expert of the base ({@code [B, 3, 8, 8]}) or SR ({@code [B, 3, 16, 16]}) stage:
     * {@code D = a x / (1 + sigma^2) + tanh(sum of projections of every conditioning input)}
     * broadcast per channel, plus (SR) {@code 0.3 low_res} and a projection of the augmentation sigma.
     * Knobs rename inputs, change their dtype, width or rank, or leave one out, to break one thing.
     */
    static final class Expert {
        static final List<String> TEXT_ROLES = List.of("t5_tokens", "t5_mask", "clip_tokens", "clip_mask", "clip_pooled");

        final int res;
        final boolean sr;
        final long seed;
        final float a;
        final Map<String, String> names = new HashMap<>();
        final Map<String, DataType> types = new HashMap<>();
        final Set<String> omitted = new HashSet<>();
        int t5Width = T5_DIM;
        int clipWidth = CLIP_DIM;
        int imageWidth = IMAGE_DIM;
        int t5Len = T5_LEN;
        boolean t5TokensRank2;
        boolean dynamicTokens;
        String extraInput;
        /** The batch dimension of every input and the output: symbolic "B", or a fixed size. */
        Object batch = "B";

        private Expert(int res, boolean sr, long seed, float a) {
            this.res = res;
            this.sr = sr;
            this.seed = seed;
            this.a = a;
        }

        static Expert base(long seed, float a) {
            return new Expert(BASE_RES, false, seed, a);
        }

        static Expert sr(long seed, float a) {
            return new Expert(SR_RES, true, seed, a);
        }

        /** Names the graph input of {@code role} (x, sigma, or a conditioning role) {@code name}. */
        Expert rename(String role, String name) {
            names.put(role, name);
            return this;
        }

        Expert type(String role, DataType t) {
            types.put(role, t);
            return this;
        }

        Expert omit(String role) {
            omitted.add(role);
            return this;
        }

        Expert t5Width(int w) {
            t5Width = w;
            return this;
        }

        Expert t5Len(int n) {
            t5Len = n;
            return this;
        }

        Expert imageWidth(int w) {
            imageWidth = w;
            return this;
        }

        /** Symbolic token lengths for T5 and CLIP inputs (a graph that takes any max_tokens). */
        Expert dynamicTokens() {
            dynamicTokens = true;
            return this;
        }

        Expert t5TokensRank2() {
            t5TokensRank2 = true;
            return this;
        }

        /** Every input and the output get a fixed batch dimension {@code n} instead of a symbolic one. */
        Expert fixedBatch(int n) {
            batch = (long) n;
            return this;
        }

        /** An extra float input {@code [B]} the manifest does not map. */
        Expert extraInput(String name) {
            extraInput = name;
            return this;
        }

        private String name(String role) {
            return names.getOrDefault(role, role.equals("augmentation_sigma") ? "aug_sigma" : role);
        }

        private String in(OnnxGraphBuilder g, String role, Object... dims) {
            dims = dims.clone();
            for (int i = 0; i < dims.length; i++) {
                dims[i] = "B".equals(dims[i]) ? batch : dims[i];
            }
            DataType t = types.getOrDefault(role, DataType.FLOAT);
            String n = g.input(name(role), t, dims);
            return t == DataType.FLOAT ? n : g.node("Cast", new String[] {n}, attr("to", DataType.FLOAT.getNumber()));
        }

        /** {@code [B, width] -> [B, 3]} through a random projection. */
        private static String project(OnnxGraphBuilder g, Random r, String v, int width) {
            return g.node("MatMul", new String[] {v, g.constant(random(r, width * 3, 0.8), width, 3)});
        }

        /** Mean over the token axis of {@code tokens [B, L, D]} weighted by {@code mask [B, L]}: {@code [B, D]}. */
        private static String maskedMean(OnnxGraphBuilder g, String tokens, String mask) {
            String m3 = g.node("Reshape", new String[] {mask, g.constant(new long[] {0, -1, 1}, 3)});
            String w = g.node("Mul", new String[] {tokens, m3});
            return g.node("ReduceMean", new String[] {w}, attr("axes", new long[] {1}), attr("keepdims", 0));
        }

        byte[] build() {
            Random r = new Random(seed);
            OnnxGraphBuilder g = new OnnxGraphBuilder((sr ? "sr_" : "base_") + seed);
            String x = in(g, "x", "B", 3, res, res);
            String sigma = in(g, "sigma", "B");
            g.output("denoised", DataType.FLOAT, batch, 3, res, res);
            List<String> terms = new ArrayList<>();
            Object t5L = dynamicTokens ? "L5" : (Object) t5Len;
            Object clipL = dynamicTokens ? "LC" : (Object) CLIP_LEN;
            if (!omitted.contains("t5_tokens")) {
                String mask = in(g, "t5_mask", "B", t5L);
                if (t5TokensRank2) {
                    String tok = in(g, "t5_tokens", "B", t5Width);
                    String mm = g.node("ReduceMean", new String[] {mask}, attr("axes", new long[] {1}), attr("keepdims", 1));
                    terms.add(project(g, r, g.node("Mul", new String[] {tok, mm}), t5Width));
                } else {
                    String tok = in(g, "t5_tokens", "B", t5L, t5Width);
                    terms.add(project(g, r, maskedMean(g, tok, mask), t5Width));
                }
            }
            if (!omitted.contains("clip_tokens")) {
                String mask = in(g, "clip_mask", "B", clipL);
                String tok = in(g, "clip_tokens", "B", clipL, clipWidth);
                terms.add(project(g, r, maskedMean(g, tok, mask), clipWidth));
                terms.add(project(g, r, in(g, "clip_pooled", "B", clipWidth), clipWidth));
            }
            if (!omitted.contains("image_embedding")) {
                terms.add(project(g, r, in(g, "image_embedding", "B", imageWidth), imageWidth));
            }
            if (sr && !omitted.contains("augmentation_sigma")) {
                String aug = g.node("Reshape", new String[] {in(g, "augmentation_sigma", "B"), g.constant(new long[] {-1, 1}, 2)});
                terms.add(project(g, r, aug, 1));
            }
            if (extraInput != null) {
                String e = g.node("Reshape", new String[] {g.input(extraInput, DataType.FLOAT, "B"),
                        g.constant(new long[] {-1, 1}, 2)});
                terms.add(project(g, r, e, 1));
            }
            String bias = g.constant(random(r, 3, 0.1), 1, 3);
            for (String t : terms) {
                bias = g.node("Add", new String[] {bias, t});
            }
            String c = g.node("Reshape", new String[] {g.node("Tanh", new String[] {bias}),
                    g.constant(new long[] {-1, 3, 1, 1}, 4)});
            String s = g.node("Reshape", new String[] {sigma, g.constant(new long[] {-1, 1, 1, 1}, 4)});
            String den = g.node("Add", new String[] {g.node("Mul", new String[] {s, s}), g.scalar(1f)});
            String k = g.node("Div", new String[] {g.scalar(a), den});
            String d = g.node("Add", new String[] {g.node("Mul", new String[] {x, k}), c});
            if (sr && !omitted.contains("low_res")) {
                String low = in(g, "low_res", "B", 3, res, res);
                d = g.node("Add", new String[] {d, g.node("Mul", new String[] {low, g.scalar(0.3f)})});
            }
            g.node("Identity", "denoised", new String[] {d});
            return g.build();
        }
    }

    /**
     * {@code model} with its largest float initializer moved to external data at {@code location}
     * ({@code data_location = EXTERNAL}, raw data removed); {@code sink}, if given, receives the
     * raw bytes that belong in the external file.
     */
    static byte[] withExternalData(byte[] model, String location, Consumer<byte[]> sink) {
        try {
            OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.parseFrom(model).toBuilder();
            int largest = 0;
            List<OnnxMl.TensorProto> inits = m.getGraph().getInitializerList();
            for (int i = 0; i < inits.size(); i++) {
                if (inits.get(i).getDataType() == DataType.FLOAT.getNumber()
                        && inits.get(i).getRawData().size() > inits.get(largest).getRawData().size()) {
                    largest = i;
                }
            }
            OnnxMl.TensorProto.Builder t = m.getGraphBuilder().getInitializerBuilder(largest);
            byte[] raw = t.getRawData().toByteArray();
            if (sink != null) {
                sink.accept(raw);
            }
            t.clearRawData().setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                    .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                    .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("length")
                            .setValue(Integer.toString(raw.length)));
            return m.build().toByteArray();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(Object json) {
        try {
            return JSON.writeValueAsBytes(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
