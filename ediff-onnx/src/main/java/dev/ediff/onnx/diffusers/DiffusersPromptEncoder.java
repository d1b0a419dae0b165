package dev.ediff.onnx.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ediff.api.EDiffException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The text conditioning of each diffusers family, computed as its Python pipeline computes it:
 * <ul>
 *   <li>SD 1.x / 2.x: the CLIP encoder's {@code last_hidden_state};</li>
 *   <li>SDXL: the penultimate hidden states of both CLIP encoders concatenated along the width, the
 *       second encoder's {@code text_embeds} as the pooled vector; without a negative prompt (null,
 *       not "") and with {@code force_zeros_for_empty_prompt}, the negative branch is all zeros;</li>
 *   <li>SDXL refiner: the same with the second encoder alone;</li>
 *   <li>SD3: CLIP-L and CLIP-G penultimate states concatenated and zero-padded to the T5 width,
 *       followed along the sequence by T5's {@code last_hidden_state} (256 tokens), or by zeros when
 *       T5 is off or absent; pooled = both {@code text_embeds} concatenated.</li>
 * </ul>
 * The negative prompt, when not zeroed, is encoded like the prompt ({@code ""} when null). Owns the
 * encoder graphs.
 */
public final class DiffusersPromptEncoder implements AutoCloseable {

    /** SD3's default {@code max_sequence_length} for T5. */
    public static final int T5_TOKENS = 256;
    private static final int CLIP_TOKENS = 77;

    /**
     * Embeddings of the negative (row 0) and positive (row 1) branch.
     *
     * @param tokens      {@code [2, sequence, width]} flattened
     * @param sequence    tokens per branch
     * @param width       the embedding width (the denoiser's cross-attention width)
     * @param pooled      {@code [2, pooledWidth]} flattened, or an empty array when the family has none
     * @param pooledWidth 0 when there is no pooled vector
     * @param inputIds    per tokenizer component, the ids of the negative and positive prompt (the
     *                    negative is null when it was zeroed instead of encoded)
     */
    public record Embeddings(float[] tokens, int sequence, int width, float[] pooled, int pooledWidth,
                             Map<String, int[][]> inputIds) {
    }

    private final DiffusersFolder folder;
    private final List<TextEncoderGraph> clips = new ArrayList<>();
    private final TextEncoderGraph t5;
    private final int width;

    private DiffusersPromptEncoder(DiffusersFolder folder, GraphSessions threads, dev.ediff.onnx.Residency residency) {
        this.folder = folder;
        TextEncoderGraph t5Graph = null;
        try {
            switch (folder.family()) {
                case STABLE_DIFFUSION -> clips.add(TextEncoderGraph.open(folder, "tokenizer", "text_encoder", threads, residency));
                case SDXL_BASE, SD3 -> {
                    clips.add(TextEncoderGraph.open(folder, "tokenizer", "text_encoder", threads, residency));
                    clips.add(TextEncoderGraph.open(folder, "tokenizer_2", "text_encoder_2", threads, residency));
                }
                case SDXL_REFINER -> clips.add(TextEncoderGraph.open(folder, "tokenizer_2", "text_encoder_2", threads, residency));
            }
            if (folder.family() == DiffusersFamily.SD3 && folder.has("text_encoder_3") && folder.has("tokenizer_3")) {
                t5Graph = TextEncoderGraph.open(folder, "tokenizer_3", "text_encoder_3", threads, residency);
            }
            if (folder.family() != DiffusersFamily.STABLE_DIFFUSION) {
                for (TextEncoderGraph c : clips) {
                    if (c.layers() < 1) {
                        throw new EDiffException(folder.model(c.component()) + ": no hidden_states.N outputs; "
                                + folder.family() + " needs the penultimate layer: export with output_hidden_states");
                    }
                }
            }
        } catch (RuntimeException e) {
            clips.forEach(TextEncoderGraph::close);
            throw e;
        }
        this.t5 = t5Graph;
        this.width = checkWidth();
    }

    /**
     * Opens the text encoders of {@code folder} ({@code threads} intra-op threads each, 0 for the
     * default) and checks that their width is the denoiser's cross-attention width.
     *
     * @param folder  the checked folder
     * @param threads intra-op threads of the session (0: one per physical core)
     * @return the encoder; the caller closes it
     */
    public static DiffusersPromptEncoder open(DiffusersFolder folder, int threads) {
        return new DiffusersPromptEncoder(folder, GraphSessions.cpu(threads), null);
    }

    /** As {@link #open(DiffusersFolder, int)}, the graphs loaded as {@code residency} decides. */
    static DiffusersPromptEncoder open(DiffusersFolder folder, GraphSessions threads, dev.ediff.onnx.Residency residency) {
        return new DiffusersPromptEncoder(folder, threads, residency);
    }

    /** @return whether this folder has a T5 encoder (SD3 with {@code text_encoder_3}) */
    public boolean hasT5() {
        return t5 != null;
    }

    /** @return the width of the token embeddings (= the denoiser's cross-attention width) */
    public int width() {
        return width;
    }

    /**
     * Encodes a prompt and its negative.
     *
     * @param prompt   the prompt
     * @param negative the negative prompt; null means none given (SDXL may then zero the branch)
     * @param useT5    for SD3: whether T5 runs (off gives zeros in its place, as without text_encoder_3)
     * @return both branches' embeddings
     */
    public Embeddings encode(String prompt, String negative, boolean useT5) {
        return encode(prompt, negative, useT5, 0);
    }

    /**
     * Encodes with clip skip: for SDXL and SD3 the positive prompt takes hidden state
     * {@code -(clipSkip + 2)} instead of the penultimate one, while the negative keeps the penultimate
     * one (as diffusers does). SD 1.x/2.x would need CLIP's final layer norm applied to an inner
     * layer, which the ONNX export does not expose, so they take no clip skip.
     *
     * @param prompt   the prompt
     * @param negative the negative prompt; null means none given
     * @param useT5    for SD3: whether T5 runs
     * @param clipSkip how many final CLIP layers the positive prompt skips (0: none)
     * @return both branches' embeddings
     * @throws IllegalArgumentException for clip skip on SD 1.x/2.x or beyond the encoders' depth
     */
    public Embeddings encode(String prompt, String negative, boolean useT5, int clipSkip) {
        checkClipSkip(clipSkip);
        Map<String, int[][]> ids = new LinkedHashMap<>();
        return switch (folder.family()) {
            case STABLE_DIFFUSION -> {
                TextEncoderGraph c = clips.get(0);
                float[][] branch = new float[2][];
                int k = 0;
                for (String text : new String[] {negative == null ? "" : negative, prompt}) {
                    TextEncoderGraph.Encoded e = c.encode(text, CLIP_TOKENS, List.of("last_hidden_state"));
                    ids.computeIfAbsent("tokenizer", x -> new int[2][])[k] = e.ids();
                    branch[k++] = e.outputs().get("last_hidden_state");
                }
                yield new Embeddings(concat(branch[0], branch[1]), CLIP_TOKENS, width, new float[0], 0, ids);
            }
            case SDXL_BASE, SDXL_REFINER -> {
                boolean zero = negative == null && folder.forceZerosForEmptyPrompt();
                Branch pos = sdxlBranch(prompt, ids, 1, clipSkip);
                Branch neg = zero ? new Branch(new float[pos.tokens.length], new float[pos.pooled.length])
                        : sdxlBranch(negative == null ? "" : negative, ids, 0, 0);
                yield new Embeddings(concat(neg.tokens, pos.tokens), CLIP_TOKENS, width, concat(neg.pooled, pos.pooled),
                        pos.pooled.length, ids);
            }
            case SD3 -> {
                Branch neg = sd3Branch(negative == null ? "" : negative, useT5, ids, 0, 0);
                Branch pos = sd3Branch(prompt, useT5, ids, 1, clipSkip);
                yield new Embeddings(concat(neg.tokens, pos.tokens), CLIP_TOKENS + T5_TOKENS, width,
                        concat(neg.pooled, pos.pooled), pos.pooled.length, ids);
            }
        };
    }

    /**
     * Checks that this folder's CLIP encoders can skip {@code clipSkip} final layers.
     *
     * @param clipSkip final layers to skip (0: none)
     * @throws IllegalArgumentException for clip skip on SD 1.x/2.x or beyond the encoders' depth
     */
    void checkClipSkip(int clipSkip) {
        if (clipSkip < 0) {
            throw new IllegalArgumentException("clip skip must be >= 0, got " + clipSkip);
        }
        if (clipSkip > 0 && folder.family() == DiffusersFamily.STABLE_DIFFUSION) {
            throw new IllegalArgumentException(folder.model("text_encoder") + ": clip skip " + clipSkip + " is not supported"
                    + " for SD 1.x/2.x ONNX exports: it needs the text encoder's final layer norm applied to an inner"
                    + " layer, which the exported graph does not expose (use clip skip 0)");
        }
        for (TextEncoderGraph c : clips) {
            if (clipSkip > 0 && c.layers() - 1 - clipSkip < 0) {
                throw new IllegalArgumentException(folder.model(c.component()) + ": clip skip " + clipSkip + " goes past the "
                        + c.layers() + " layers of " + c.component() + "; expected at most " + (c.layers() - 1));
            }
        }
    }

    /**
     * SDXL's {@code time_ids} for the negative and positive branch: the base's 6 values
     * (original height, width, crop top, left, target height, width), or the refiner's 5 (original
     * height, width, crop top, left, aesthetic score: 6.0 positive, 2.5 negative by default).
     *
     * @param family                 SDXL base or refiner
     * @param height                 image height in pixels (original and target size)
     * @param width                  image width in pixels
     * @param aestheticScore         the refiner's positive aesthetic score
     * @param negativeAestheticScore the refiner's negative aesthetic score
     * @return {@code [2, 6]} or {@code [2, 5]} flattened, negative row first
     */
    public static float[] timeIds(DiffusersFamily family, int height, int width, double aestheticScore,
                                  double negativeAestheticScore) {
        return switch (family) {
            case SDXL_BASE -> {
                float[] one = {height, width, 0, 0, height, width};
                yield concat(one, one);
            }
            case SDXL_REFINER -> concat(new float[] {height, width, 0, 0, (float) negativeAestheticScore},
                    new float[] {height, width, 0, 0, (float) aestheticScore});
            default -> throw new IllegalArgumentException(family + " takes no time_ids");
        };
    }

    /** One prompt's token states {@code [sequence, width]} and pooled vector (empty when none), flattened. */
    record Branch(float[] tokens, float[] pooled) {
    }

    /** The family of the folder these encoders belong to. */
    DiffusersFamily family() {
        return folder.family();
    }

    /**
     * One prompt alone, as the pipeline encodes each branch: SD's {@code last_hidden_state}, SDXL's
     * concatenated penultimate states with the pooled vector, or SD3's CLIP part (padded to the
     * joint width, 77 tokens) with the pooled vector; SD3's T5 part comes from {@link #t5Part}.
     */
    Branch branch(String text, int clipSkip) {
        Map<String, int[][]> ids = new LinkedHashMap<>();
        return switch (folder.family()) {
            case STABLE_DIFFUSION -> new Branch(clips.get(0).encode(text, CLIP_TOKENS, List.of("last_hidden_state"))
                    .outputs().get("last_hidden_state"), new float[0]);
            case SDXL_BASE, SDXL_REFINER -> sdxlBranch(text, ids, 0, clipSkip);
            case SD3 -> sd3Clip(text, ids, 0, clipSkip);
        };
    }

    /** SD3's T5 states of {@code text}, {@code [256, width]}; zeros without a T5 encoder. */
    float[] t5Part(String text) {
        if (t5 == null) {
            return new float[T5_TOKENS * width];
        }
        return t5.encode(text, T5_TOKENS, List.of("last_hidden_state")).outputs().get("last_hidden_state");
    }

    /**
     * The tokenizers whose token positions are the columns of the text states: every CLIP's (their
     * states are joined along the width, so column {@code t} is token {@code t} of each), or T5's.
     */
    List<dev.ediff.core.text.Tokenizer> columnTokenizers(boolean t5Tokenizer) {
        if (t5Tokenizer) {
            return t5 == null ? List.of() : List.of(t5.tokenizer());
        }
        List<dev.ediff.core.text.Tokenizer> out = new ArrayList<>();
        for (TextEncoderGraph c : clips) {
            out.add(c.tokenizer());
        }
        return out;
    }

    /** The tokenizer that decides truncation: the first CLIP's, or T5's for {@code t5}. */
    dev.ediff.core.text.Tokenizer tokenizer(boolean t5Tokenizer) {
        return t5Tokenizer && t5 != null ? t5.tokenizer() : clips.get(0).tokenizer();
    }

    private Branch sdxlBranch(String text, Map<String, int[][]> ids, int slot, int skip) {
        List<float[]> parts = new ArrayList<>();
        List<Integer> widths = new ArrayList<>();
        float[] pooled = null;
        for (TextEncoderGraph c : clips) {
            String penultimate = "hidden_states." + (c.layers() - 1 - skip);
            List<String> outs = new ArrayList<>(List.of(penultimate));
            boolean pooledHere = c.hasOutput("text_embeds");
            if (pooledHere) {
                outs.add("text_embeds");
            }
            TextEncoderGraph.Encoded e = c.encode(text, CLIP_TOKENS, outs);
            ids.computeIfAbsent(tokenizerOf(c), x -> new int[2][])[slot] = e.ids();
            parts.add(e.outputs().get(penultimate));
            widths.add((int) e.shapes().get(penultimate)[2]);
            if (pooledHere) {
                pooled = e.outputs().get("text_embeds");
            }
        }
        if (pooled == null) {
            throw new EDiffException(folder.model(clips.get(clips.size() - 1).component())
                    + ": no 'text_embeds' output; SDXL pools with CLIPTextModelWithProjection");
        }
        return new Branch(concatWidth(parts, widths, CLIP_TOKENS, 0), pooled);
    }

    private Branch sd3Branch(String text, boolean useT5, Map<String, int[][]> ids, int slot, int skip) {
        Branch clip = sd3Clip(text, ids, slot, skip);
        float[] t5Part = new float[T5_TOKENS * width];
        if (useT5 && t5 != null) {
            TextEncoderGraph.Encoded e = t5.encode(text, T5_TOKENS, List.of("last_hidden_state"));
            ids.computeIfAbsent("tokenizer_3", x -> new int[2][])[slot] = e.ids();
            t5Part = e.outputs().get("last_hidden_state");
        }
        return new Branch(concat(clip.tokens(), t5Part), clip.pooled());
    }

    private Branch sd3Clip(String text, Map<String, int[][]> ids, int slot, int skip) {
        List<float[]> parts = new ArrayList<>();
        List<Integer> widths = new ArrayList<>();
        List<float[]> pooled = new ArrayList<>();
        for (TextEncoderGraph c : clips) {
            String penultimate = "hidden_states." + (c.layers() - 1 - skip);
            TextEncoderGraph.Encoded e = c.encode(text, CLIP_TOKENS, List.of(penultimate, "text_embeds"));
            ids.computeIfAbsent(tokenizerOf(c), x -> new int[2][])[slot] = e.ids();
            parts.add(e.outputs().get(penultimate));
            widths.add((int) e.shapes().get(penultimate)[2]);
            pooled.add(e.outputs().get("text_embeds"));
        }
        int clipWidth = widths.stream().mapToInt(Integer::intValue).sum();
        float[] clip = concatWidth(parts, widths, CLIP_TOKENS, width - clipWidth);
        return new Branch(clip, concat(pooled.get(0), pooled.get(1)));
    }

    private static String tokenizerOf(TextEncoderGraph c) {
        return c.component().replace("text_encoder", "tokenizer");
    }

    private int checkWidth() {
        String denoiser = folder.family().denoiser();
        JsonNode cfg = folder.config(denoiser);
        int produced;
        String what;
        int t5Width = t5 == null ? -1 : widthOf(t5, "d_model");
        int clipSum = 0;
        List<String> parts = new ArrayList<>();
        for (TextEncoderGraph c : clips) {
            int w = widthOf(c, "hidden_size");
            clipSum += w;
            parts.add(c.component() + " " + w);
        }
        if (folder.family() == DiffusersFamily.SD3) {
            int joint = cfg.path("joint_attention_dim").asInt(-1);
            if (joint < 0) {
                throw new EDiffException(folder.root().resolve(denoiser).resolve("config.json")
                        + ": no joint_attention_dim; expected the transformer's text width");
            }
            if (t5Width >= 0 && t5Width != joint) {
                throw new EDiffException(folder.root().resolve(denoiser).resolve("config.json") + ": joint_attention_dim "
                        + joint + " does not match text_encoder_3's d_model " + t5Width);
            }
            if (clipSum > joint) {
                throw new EDiffException(folder.root().resolve(denoiser).resolve("config.json") + ": joint_attention_dim "
                        + joint + " is narrower than the CLIP widths (" + String.join(" + ", parts) + ")");
            }
            return joint;
        }
        produced = clipSum;
        what = String.join(" + ", parts);
        int cross = cfg.path("cross_attention_dim").asInt(-1);
        if (cross >= 0 && cross != produced) {
            throw new EDiffException(folder.root().resolve(denoiser).resolve("config.json") + ": cross_attention_dim " + cross
                    + " does not match the text encoders' width " + produced + " (" + what + ")");
        }
        return produced;
    }

    /** The encoder's width from its graph, else from its config.json; an error when neither says. */
    private int widthOf(TextEncoderGraph c, String configKey) {
        int w = c.width();
        if (w < 0) {
            w = folder.config(c.component()).path(configKey).asInt(-1);
        }
        if (w < 1) {
            throw new EDiffException(folder.model(c.component()) + ": the width of 'last_hidden_state' is symbolic and "
                    + folder.root().resolve(c.component()).resolve("config.json") + " has no " + configKey);
        }
        return w;
    }

    /** Concatenates per-token rows of several {@code [1, tokens, w_i]} arrays along the width, then zero-pads. */
    private static float[] concatWidth(List<float[]> parts, List<Integer> widths, int tokens, int pad) {
        int total = widths.stream().mapToInt(Integer::intValue).sum() + pad;
        float[] out = new float[tokens * total];
        for (int t = 0; t < tokens; t++) {
            int at = t * total;
            for (int p = 0; p < parts.size(); p++) {
                int w = widths.get(p);
                System.arraycopy(parts.get(p), t * w, out, at, w);
                at += w;
            }
        }
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = new float[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    public void close() {
        clips.forEach(TextEncoderGraph::close);
        if (t5 != null) {
            t5.close();
        }
    }
}
