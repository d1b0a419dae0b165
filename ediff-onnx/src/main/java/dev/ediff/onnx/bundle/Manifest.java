package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.ediff.core.text.JsonTrees;
import dev.ediff.core.text.PromptLayout;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A bundle's {@code manifest.json}, parsed and checked field by field. The format is documented in
 * {@code ediff-onnx/BUNDLE_FORMAT.md}. Every error names the manifest field (as a JSON path) and
 * what it should be. Parsing touches no other file.
 */
public record Manifest(String name, String description, List<TextEncoderSpec> textEncoders,
                       Optional<ImageEncoderSpec> imageEncoder, List<StageSpec> stages, Map<String, String> sha256,
                       Optional<PromptLayout> layout) {

    /**
     * Builds a manifest.
     *
     * @param name         the model's name
     * @param description  a line about the model (may be empty)
     * @param textEncoders the text encoders, in manifest order
     * @param imageEncoder the style image encoder, if any
     * @param stages       the stages, base first
     * @param sha256       expected SHA-256 digests (64 lowercase hex digits) by bundle-relative file path;
     *               files without an entry are not verified
     * @param layout       the prompt layout (the {@code "layout"} block), if the model declares one
     */
    public Manifest {
        sha256 = Map.copyOf(sha256);
        java.util.Objects.requireNonNull(layout, "layout");
    }

    /**
     * Builds a manifest without a prompt layout.
     *
     * @param name         the model's name
     * @param description  a line about the model (may be empty)
     * @param textEncoders the text encoders, in manifest order
     * @param imageEncoder the style image encoder, if any
     * @param stages       the stages, base first
     * @param sha256       expected SHA-256 digests by bundle-relative file path
     */
    public Manifest(String name, String description, List<TextEncoderSpec> textEncoders,
                    Optional<ImageEncoderSpec> imageEncoder, List<StageSpec> stages, Map<String, String> sha256) {
        this(name, description, textEncoders, imageEncoder, stages, sha256, Optional.empty());
    }

    /** The manifest's file name inside a bundle. */
    public static final String FILE = "manifest.json";

    /**
     * A text encoder: ONNX model, tokenizer, token limit and tensor names. {@code padId}, when the
     * manifest states it, must be the padding id of the tokenizer file (checked when the bundle
     * opens): the tokenizer file decides the padding, the manifest only repeats it for readers.
     */
    public record TextEncoderSpec(String role, String model, String tokenizer, int maxTokens, OptionalInt padId,
                                  String inputIds, Optional<String> attentionMaskInput, String tokensOutput,
                                  Optional<String> pooledOutput, int dim, Off off) {
    }

    /** What a switched-off encoder contributes. */
    public enum Off {
        /** All-zero embeddings and mask. */
        ZEROS,
        /** The encoding of the empty prompt. */
        EMPTY_PROMPT
    }

    /** The style image encoder. */
    public record ImageEncoderSpec(String model, String input, String output, int size, double[] mean, double[] std,
                                   int dim) {
    }

    /**
     * One expert of a stage: an ONNX {@code model} file, or a Java expert that the
     * {@link dev.ediff.api.ExpertProvider} naming {@code provider} makes with {@code options}
     * (exactly one of {@code model} and {@code provider} is present).
     *
     * @param name     the expert's name (in logs and routed evaluations)
     * @param model    the bundle-relative ONNX file, if the expert is a graph
     * @param sigmaLo  the lower end of its interval (inclusive)
     * @param sigmaHi  the upper end (exclusive; infinite for the unbounded top expert)
     * @param provider the expert provider name, if the expert is Java code
     * @param options  the provider's options as text (empty for a model)
     */
    public record ExpertSpec(String name, Optional<String> model, double sigmaLo, double sigmaHi,
                             Optional<String> provider, Map<String, String> options) {

        /**
         * Checks that exactly one of {@code model} and {@code provider} is given, and copies {@code options}.
         *
         * @param name     the expert's name
         * @param model    the ONNX file, if a graph
         * @param sigmaLo  the lower end of its interval
         * @param sigmaHi  the upper end
         * @param provider the expert provider name, if Java code
         * @param options  the provider's options
         * @throws IllegalArgumentException when both or neither are given, or options come with a model
         */
        public ExpertSpec {
            if (model.isPresent() == provider.isPresent()) {
                throw new IllegalArgumentException("expert '" + name + "' needs exactly one of model and provider");
            }
            if (model.isPresent() && !options.isEmpty()) {
                throw new IllegalArgumentException("expert '" + name + "' has options but no provider");
            }
            options = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
        }
    }

    /** One stage of the cascade. */
    public record StageSpec(String name, int height, int width, int channels, String parameterization,
                            double sigmaData, double sigmaMin, double sigmaMax, double rho, String xInput,
                            String noiseInput, String noiseShape, Map<String, String> conditioningInputs,
                            String output, List<ExpertSpec> experts, String sampler, int steps, double guidance,
                            Optional<Double> augmentationSigma) {
    }

    private static final Set<String> ROOT_FIELDS = Set.of("format_version", "name", "description", "text_encoders",
            "image_encoder", "stages", "sha256", "layout");

    private static final java.util.regex.Pattern SHA256 = java.util.regex.Pattern.compile("[0-9a-f]{64}");

    /**
     * Parses and checks a manifest.
     *
     * @param json  the manifest's bytes
     * @param where names the manifest in error messages
     * @return the manifest
     * @throws BundleException naming the field and what would be right
     */
    public static Manifest parse(byte[] json, String where) {
        JsonNode root;
        try {
            root = JsonTrees.read(json); // not an ObjectMapper: its first use costs ~0.3 s of a cold start
        } catch (IOException e) {
            throw new BundleException(where + " is not valid JSON: " + e.getMessage());
        }
        Reader r = new Reader(where);
        if (root == null || !root.isObject()) {
            throw new BundleException(where + ": the manifest must be a JSON object");
        }
        r.onlyFields(root, "", ROOT_FIELDS);
        int version = r.integer(root, "format_version", 1, 1);
        if (version != 1) {
            throw new BundleException(where + ": format_version " + version + " is not supported (this SDK reads 1)");
        }
        String name = r.text(root, "name");
        String description = root.has("description") ? r.text(root, "description") : "";
        List<TextEncoderSpec> encoders = new ArrayList<>();
        JsonNode te = root.get("text_encoders");
        if (te != null && !te.isNull()) {
            r.array(te, "text_encoders");
            Set<String> roles = new java.util.HashSet<>();
            for (int i = 0; i < te.size(); i++) {
                TextEncoderSpec s = textEncoder(r, te.get(i), "text_encoders[" + i + "]");
                if (!roles.add(s.role())) {
                    throw new BundleException(where + ": text_encoders[" + i + "].role '" + s.role()
                            + "' appears twice; each role (t5, clip) at most once");
                }
                encoders.add(s);
            }
        }
        Optional<ImageEncoderSpec> image = Optional.empty();
        JsonNode ie = root.get("image_encoder");
        if (ie != null && !ie.isNull()) {
            image = Optional.of(imageEncoder(r, ie, "image_encoder"));
        }
        JsonNode st = root.get("stages");
        if (st == null || !st.isArray() || st.isEmpty()) {
            throw new BundleException(where + ": 'stages' must be a non-empty array of stages (base first, then"
                    + " super-resolution stages)");
        }
        List<StageSpec> stages = new ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < st.size(); i++) {
            StageSpec s = stage(r, st.get(i), "stages[" + i + "]", i);
            if (!names.add(s.name())) {
                throw new BundleException(where + ": stages[" + i + "].name '" + s.name() + "' is used twice");
            }
            stages.add(s);
        }
        Map<String, String> digests = new java.util.TreeMap<>();
        JsonNode sha = root.get("sha256");
        if (sha != null && !sha.isNull()) {
            r.object(sha, "sha256");
            for (Iterator<Map.Entry<String, JsonNode>> it = sha.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String field = "sha256[\"" + e.getKey() + "\"]";
                BundlePaths.checkRelative(e.getKey(), where, field);
                if (e.getKey().equals(FILE)) {
                    throw new BundleException(where + ": " + field + ": the manifest cannot hold its own digest");
                }
                if (!e.getValue().isTextual() || !SHA256.matcher(e.getValue().asText()).matches()) {
                    throw new BundleException(where + ": " + field + " must be a SHA-256 digest, 64 lowercase hex digits,"
                            + " got " + e.getValue());
                }
                digests.put(e.getKey(), e.getValue().asText());
            }
        }
        Optional<PromptLayout> layout = Optional.empty();
        JsonNode lo = root.get("layout");
        if (lo != null && !lo.isNull()) {
            if (encoders.isEmpty()) {
                throw new BundleException(where + ": 'layout' lays prompts out for the text encoders, but the manifest"
                        + " has no text_encoders; remove 'layout' or add the encoders");
            }
            for (int i = 0; i < encoders.size(); i++) {
                if (encoders.get(i).maxTokens() < 4) {
                    throw new BundleException(where + ": 'layout' encodes two phrases in half the tokens each, so"
                            + " text_encoders[" + i + "].max_tokens must be at least 4, got " + encoders.get(i).maxTokens());
                }
            }
            layout = Optional.of(layout(r, lo));
        }
        return new Manifest(name, description, List.copyOf(encoders), image, List.copyOf(stages), digests, layout);
    }

    private static final Set<String> LAYOUT_FIELDS = Set.of("grid", "nouns", "modifiers", "cells", "relations",
            "placements");

    /**
     * The {@code "layout"} block: JSON types checked here (each error names the field), the rest
     * (cell count, placements in range, lower-case phrases) by {@link PromptLayout}'s constructor.
     */
    private static PromptLayout layout(Reader r, JsonNode n) {
        r.onlyFields(n, "layout", LAYOUT_FIELDS);
        int grid = r.integer(n, "layout.grid", 1, PromptLayout.MAX_GRID);
        List<String> nouns = r.strings(r.child(n, "layout", "nouns"), "layout.nouns");
        List<String> modifiers = n.hasNonNull("modifiers") ? r.strings(n.get("modifiers"), "layout.modifiers") : List.of();
        JsonNode cellsNode = r.child(n, "layout", "cells");
        r.array(cellsNode, "layout.cells");
        List<List<String>> cells = new ArrayList<>();
        for (int i = 0; i < cellsNode.size(); i++) {
            cells.add(r.strings(cellsNode.get(i), "layout.cells[" + i + "]"));
        }
        Map<String, List<String>> relations = new LinkedHashMap<>();
        if (n.hasNonNull("relations")) {
            JsonNode rel = n.get("relations");
            r.object(rel, "layout.relations");
            rel.fields().forEachRemaining(e -> relations.put(e.getKey(),
                    r.strings(e.getValue(), "layout.relations." + e.getKey())));
        }
        Map<String, List<Integer>> placements = new LinkedHashMap<>();
        if (n.hasNonNull("placements")) {
            JsonNode pl = n.get("placements");
            r.object(pl, "layout.placements");
            for (Iterator<Map.Entry<String, JsonNode>> it = pl.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String path = "layout.placements." + e.getKey();
                JsonNode v = e.getValue();
                if (!v.isArray() || v.size() != 2 || !v.get(0).canConvertToInt() || !v.get(0).isIntegralNumber()
                        || !v.get(1).canConvertToInt() || !v.get(1).isIntegralNumber()) {
                    throw new BundleException(r.where + ": " + path + " must be two cell numbers [cell of A, cell of B]"
                            + " for a prompt 'A " + e.getKey() + " B', got " + v);
                }
                placements.put(e.getKey(), List.of(v.get(0).asInt(), v.get(1).asInt()));
            }
        }
        try {
            return new PromptLayout(grid, nouns, modifiers, cells, relations, placements);
        } catch (IllegalArgumentException e) {
            throw new BundleException(r.where + ": layout." + e.getMessage());
        }
    }

    private static TextEncoderSpec textEncoder(Reader r, JsonNode n, String path) {
        r.object(n, path);
        r.onlyFields(n, path, Set.of("role", "model", "tokenizer", "max_tokens", "pad_id", "inputs", "outputs", "dim", "off"));
        String role = r.text(n, path + ".role");
        if (!role.equals("t5") && !role.equals("clip")) {
            throw new BundleException(r.where + ": " + path + ".role is '" + role + "'; expected 't5' or 'clip'");
        }
        JsonNode inputs = r.child(n, path, "inputs");
        r.onlyFields(inputs, path + ".inputs", Set.of("input_ids", "attention_mask"));
        JsonNode outputs = r.child(n, path, "outputs");
        r.onlyFields(outputs, path + ".outputs", Set.of("tokens", "pooled"));
        String offText = n.has("off") ? r.text(n, path + ".off") : "zeros";
        Off off = switch (offText) {
            case "zeros" -> Off.ZEROS;
            case "empty_prompt" -> Off.EMPTY_PROMPT;
            default -> throw new BundleException(r.where + ": " + path + ".off is '" + offText
                    + "'; expected 'zeros' or 'empty_prompt'");
        };
        return new TextEncoderSpec(role, r.file(n, path + ".model"), r.file(n, path + ".tokenizer"),
                r.integer(n, path + ".max_tokens", 1, 4096), n.has("pad_id") ? OptionalInt.of(r.integer(n, path + ".pad_id", 0, Integer.MAX_VALUE)) : OptionalInt.empty(),
                r.text(inputs, path + ".inputs.input_ids"), r.optionalText(inputs, path + ".inputs.attention_mask"),
                r.text(outputs, path + ".outputs.tokens"), r.optionalText(outputs, path + ".outputs.pooled"),
                r.integer(n, path + ".dim", 1, 1 << 16), off);
    }

    private static ImageEncoderSpec imageEncoder(Reader r, JsonNode n, String path) {
        r.object(n, path);
        r.onlyFields(n, path, Set.of("model", "input", "output", "size", "mean", "std", "dim"));
        double[] mean = r.triple(n, path + ".mean");
        double[] std = r.triple(n, path + ".std");
        for (int i = 0; i < 3; i++) {
            if (!(std[i] > 0)) {
                throw new BundleException(r.where + ": " + path + ".std[" + i + "] is " + std[i] + "; it must be > 0");
            }
        }
        return new ImageEncoderSpec(r.file(n, path + ".model"), r.text(n, path + ".input"), r.text(n, path + ".output"),
                r.integer(n, path + ".size", 8, 4096), mean, std, r.integer(n, path + ".dim", 1, 1 << 16));
    }

    /**
     * Checks the stage's Karras schedule as a whole: sigma_min, sigma_max and rho can each be in range
     * and still give no usable sigma list (a tiny rho overflows {@code sigma_max^(1/rho)}; a subnormal
     * sigma_min rounds neighbouring sigmas together), which would otherwise fail only at generate time.
     * Non-finite values show at any step count and sigmas rounded together first at the densest one,
     * so the default count and the extremes suffice.
     */
    private static void checkSchedule(Reader r, String path, double sigmaMin, double sigmaMax, double rho, int steps) {
        dev.ediff.api.NoiseSchedule karras = dev.ediff.core.schedule.Schedules.karras(sigmaMin, sigmaMax, rho);
        for (int k : new int[] {1, 2, steps, dev.ediff.api.Request.MAX_STEPS}) {
            try {
                dev.ediff.core.schedule.Schedules.validate(karras.sigmas(k));
            } catch (IllegalArgumentException e) {
                throw new BundleException(r.where + ": " + path + ".sigma_min " + sigmaMin + ", sigma_max " + sigmaMax
                        + " and rho " + rho + " give no usable noise schedule at " + k + " steps (" + e.getMessage()
                        + "); EDM's are 0.002, 80 and 7");
            }
        }
    }

    /**
     * The largest noise level a manifest may name (sigma_min, sigma_max, sigma_lo, sigma_hi): 1e4.
     * Trained models stop far below (EDM: 80; Stable Diffusion's VP schedule: about 14.6); a larger
     * number is a typo, and near Double.MAX_VALUE the schedule's arithmetic overflows.
     */
    public static final double MAX_SIGMA = 1e4;

    /** The largest sigma_data (the data's standard deviation; 0.5 for images in [-1, 1]) and rho: 100. */
    public static final double MAX_SIGMA_DATA_AND_RHO = 100;

    private static final Set<String> PARAMETERIZATIONS = Set.of("x0", "edm", "eps", "v");
    private static final Set<String> NOISE_SHAPES = Set.of("scalar", "batch", "batch_1");

    private static StageSpec stage(Reader r, JsonNode n, String path, int index) {
        r.object(n, path);
        r.onlyFields(n, path, Set.of("name", "resolution", "channels", "parameterization", "sigma_data", "sigma_min",
                "sigma_max", "rho", "inputs", "output", "experts", "defaults"));
        String name = r.text(n, path + ".name");
        JsonNode res = r.child(n, path, "resolution");
        if (!res.isArray() || res.size() != 2 || !res.get(0).canConvertToInt() || !res.get(1).canConvertToInt()
                || !res.get(0).isIntegralNumber() || !res.get(1).isIntegralNumber()
                || res.get(0).asInt() < 1 || res.get(1).asInt() < 1 || res.get(0).asInt() > 8192 || res.get(1).asInt() > 8192) {
            throw new BundleException(r.where + ": " + path + ".resolution must be [height, width], integers in 1..8192, got " + res);
        }
        String param = r.text(n, path + ".parameterization");
        if (!PARAMETERIZATIONS.contains(param)) {
            throw new BundleException(r.where + ": " + path + ".parameterization is '" + param + "'; expected one of "
                    + PARAMETERIZATIONS);
        }
        double sigmaMin = r.number(n, path + ".sigma_min", 0, MAX_SIGMA, false);
        double sigmaMax = r.number(n, path + ".sigma_max", 0, MAX_SIGMA, false);
        if (!(sigmaMin < sigmaMax)) {
            throw new BundleException(r.where + ": " + path + ".sigma_min (" + sigmaMin + ") must be below sigma_max ("
                    + sigmaMax + ")");
        }
        JsonNode inputs = r.child(n, path, "inputs");
        r.object(inputs, path + ".inputs");
        String xInput = r.text(inputs, path + ".inputs.x");
        String noiseInput = r.text(inputs, path + ".inputs.sigma");
        String noiseShape = inputs.has("sigma_shape") ? r.text(inputs, path + ".inputs.sigma_shape") : "batch";
        if (!NOISE_SHAPES.contains(noiseShape)) {
            throw new BundleException(r.where + ": " + path + ".inputs.sigma_shape is '" + noiseShape + "'; expected one of "
                    + NOISE_SHAPES);
        }
        Map<String, String> cond = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = inputs.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (Set.of("x", "sigma", "sigma_shape").contains(e.getKey())) {
                continue;
            }
            if (!ROLES.contains(e.getKey())) {
                throw new BundleException(r.where + ": " + path + ".inputs." + e.getKey() + " is not a known role; roles are "
                        + ROLES + " (plus x, sigma, sigma_shape)");
            }
            cond.put(e.getKey(), r.text(inputs, path + ".inputs." + e.getKey()));
        }
        JsonNode experts = r.child(n, path, "experts");
        if (!experts.isArray() || experts.isEmpty()) {
            throw new BundleException(r.where + ": " + path + ".experts must be a non-empty array of experts");
        }
        List<ExpertSpec> ex = new ArrayList<>();
        for (int i = 0; i < experts.size(); i++) {
            String ep = path + ".experts[" + i + "]";
            JsonNode e = experts.get(i);
            r.object(e, ep);
            r.onlyFields(e, ep, Set.of("name", "model", "provider", "options", "sigma_lo", "sigma_hi"));
            double lo = r.number(e, ep + ".sigma_lo", 0, MAX_SIGMA, true);
            double hi = e.hasNonNull("sigma_hi") ? r.number(e, ep + ".sigma_hi", 0, MAX_SIGMA, false)
                    : Double.POSITIVE_INFINITY;
            if (!(hi > lo)) {
                throw new BundleException(r.where + ": " + ep + " has sigma_hi " + hi + " <= sigma_lo " + lo);
            }
            String expertName = r.text(e, ep + ".name");
            boolean hasModel = e.hasNonNull("model");
            boolean hasProvider = e.hasNonNull("provider");
            if (hasModel == hasProvider) {
                throw new BundleException(r.where + ": " + ep + (hasModel ? " gives both 'model' and 'provider'"
                        : " gives neither 'model' nor 'provider'") + "; give exactly one: 'model' (an ONNX file in the"
                        + " bundle) or 'provider' (a Java expert by name, one of " + ExpertProviders.names() + ")");
            }
            Optional<String> provider = Optional.empty();
            Map<String, String> options = new LinkedHashMap<>();
            if (hasProvider) {
                String p = r.text(e, ep + ".provider");
                if (!ExpertProviders.known(p)) {
                    throw new BundleException(r.where + ": " + ep + ".provider '" + p + "' is unknown; known expert"
                            + " providers: " + ExpertProviders.names() + " (add one with a dev.ediff.api.ExpertProvider"
                            + " listed in META-INF/services)");
                }
                provider = Optional.of(p);
                JsonNode o = e.get("options");
                if (o != null && !o.isNull()) {
                    r.object(o, ep + ".options");
                    for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                        Map.Entry<String, JsonNode> kv = it.next();
                        if (!kv.getValue().isValueNode() || kv.getValue().isNull()) {
                            throw new BundleException(r.where + ": " + ep + ".options." + kv.getKey()
                                    + " must be a string, number or boolean, got " + kv.getValue());
                        }
                        options.put(kv.getKey(), kv.getValue().asText());
                    }
                }
            } else if (e.hasNonNull("options")) {
                throw new BundleException(r.where + ": " + ep + ".options is only for a 'provider' expert; an ONNX"
                        + " 'model' takes no options");
            }
            Optional<String> model = hasModel ? Optional.of(r.file(e, ep + ".model")) : Optional.empty();
            ex.add(new ExpertSpec(expertName, model, lo, hi, provider, options));
        }
        JsonNode defaults = n.has("defaults") ? n.get("defaults") : JsonNodeFactory.instance.objectNode();
        r.object(defaults, path + ".defaults");
        r.onlyFields(defaults, path + ".defaults", Set.of("sampler", "steps", "guidance", "augmentation_sigma"));
        String sampler = defaults.has("sampler") ? r.text(defaults, path + ".defaults.sampler") : "heun";
        try {
            dev.ediff.core.sampling.Samplers.parse(sampler);
        } catch (IllegalArgumentException e) {
            throw new BundleException(r.where + ": " + path + ".defaults.sampler '" + sampler + "' is unknown or has a bad"
                    + " option: " + e.getMessage() + "; a sampler is NAME or NAME(key=value,...)");
        }
        Optional<Double> aug = defaults.has("augmentation_sigma")
                ? Optional.of(r.number(defaults, path + ".defaults.augmentation_sigma", 0,
                dev.ediff.api.StageOptions.MAX_AUGMENTATION_SIGMA, true)) : Optional.empty();
        if (index > 0 && aug.isEmpty()) {
            throw new BundleException(r.where + ": " + path + " is a super-resolution stage (it is not the first), so "
                    + path + ".defaults.augmentation_sigma is required");
        }
        if (index > 0 && (!cond.containsKey("low_res") || !cond.containsKey("augmentation_sigma"))) {
            throw new BundleException(r.where + ": " + path + " is a super-resolution stage, so " + path
                    + ".inputs must name the 'low_res' and 'augmentation_sigma' inputs");
        }
        double rho = n.has("rho") ? r.number(n, path + ".rho", 0, MAX_SIGMA_DATA_AND_RHO, false) : 7.0;
        int steps = defaults.has("steps") ? r.integer(defaults, path + ".defaults.steps", 1, dev.ediff.api.Request.MAX_STEPS) : 20;
        checkSchedule(r, path, sigmaMin, sigmaMax, rho, steps);
        return new StageSpec(name, res.get(0).asInt(), res.get(1).asInt(), r.integer(n, path + ".channels", 1, 64), param,
                n.has("sigma_data") ? r.number(n, path + ".sigma_data", 0, MAX_SIGMA_DATA_AND_RHO, false) : 0.5, sigmaMin,
                sigmaMax, rho, xInput, noiseInput, noiseShape,
                java.util.Collections.unmodifiableMap(cond), r.text(n, path + ".output"), List.copyOf(ex), sampler, steps,
                defaults.has("guidance") ? r.number(defaults, path + ".defaults.guidance", 0,
                        dev.ediff.api.Guidance.MAX_SCALE, true) : 1.0, aug);
    }

    /** The conditioning roles a stage's inputs may name. */
    public static final Set<String> ROLES = Set.of(dev.ediff.api.Conditioning.T5_TOKENS, dev.ediff.api.Conditioning.T5_MASK,
            dev.ediff.api.Conditioning.CLIP_TOKENS, dev.ediff.api.Conditioning.CLIP_MASK,
            dev.ediff.api.Conditioning.CLIP_POOLED, dev.ediff.api.Conditioning.IMAGE_EMBEDDING,
            dev.ediff.api.Conditioning.ATTENTION_BIAS, dev.ediff.api.Conditioning.LOW_RES,
            dev.ediff.api.Conditioning.AUGMENTATION_SIGMA);

    /** Typed field access with messages naming the field. */
    private static final class Reader {
        final String where;

        Reader(String where) {
            this.where = where;
        }

        void object(JsonNode n, String path) {
            if (n == null || !n.isObject()) {
                throw new BundleException(where + ": " + path + " must be a JSON object");
            }
        }

        void array(JsonNode n, String path) {
            if (!n.isArray()) {
                throw new BundleException(where + ": " + path + " must be a JSON array");
            }
        }

        void onlyFields(JsonNode n, String path, Set<String> allowed) {
            object(n, path.isEmpty() ? "the manifest" : path);
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!allowed.contains(f)) {
                    throw new BundleException(where + ": unknown field '" + (path.isEmpty() ? "" : path + ".") + f
                            + "'; allowed here: " + new java.util.TreeSet<>(allowed));
                }
            }
        }

        JsonNode child(JsonNode n, String path, String field) {
            JsonNode c = n.get(field);
            if (c == null || c.isNull()) {
                throw new BundleException(where + ": missing field '" + path + "." + field + "'");
            }
            return c;
        }

        private static String last(String path) {
            int dot = path.lastIndexOf('.');
            return dot < 0 ? path : path.substring(dot + 1);
        }

        private JsonNode field(JsonNode n, String path) {
            JsonNode v = n.get(last(path));
            if (v == null || v.isNull()) {
                throw new BundleException(where + ": missing field '" + path + "'");
            }
            return v;
        }

        String text(JsonNode n, String path) {
            JsonNode v = field(n, path);
            if (!v.isTextual() || v.asText().isBlank()) {
                throw new BundleException(where + ": " + path + " must be a non-empty string, got " + v);
            }
            return v.asText();
        }

        Optional<String> optionalText(JsonNode n, String path) {
            JsonNode v = n.get(last(path));
            return v == null || v.isNull() ? Optional.empty() : Optional.of(text(n, path));
        }

        /** A relative file path inside the bundle (checked again, against the file system, when opened). */
        String file(JsonNode n, String path) {
            String f = text(n, path);
            BundlePaths.checkRelative(f, where, path);
            return f;
        }

        int integer(JsonNode n, String path, int min, int max) {
            JsonNode v = field(n, path);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
                throw new BundleException(where + ": " + path + " must be an integer in " + min + ".." + max + ", got " + v);
            }
            return v.asInt();
        }

        double number(JsonNode n, String path, double min, double max, boolean minInclusive) {
            JsonNode v = field(n, path);
            double d = v.asDouble();
            if (!v.isNumber() || !Double.isFinite(d) || d > max || (minInclusive ? d < min : d <= min)) {
                throw new BundleException(where + ": " + path + " must be a finite number in " + (minInclusive ? "[" : "(")
                        + plain(min) + ", " + plain(max) + "], got " + v);
            }
            return d;
        }

        private static String plain(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }

        /** A JSON array of strings (each may still be empty: the caller checks the contents). */
        List<String> strings(JsonNode v, String path) {
            if (v == null || !v.isArray()) {
                throw new BundleException(where + ": " + path + " must be a JSON array of strings, got " + v);
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                if (!v.get(i).isTextual()) {
                    throw new BundleException(where + ": " + path + "[" + i + "] must be a string, got " + v.get(i));
                }
                out.add(v.get(i).asText());
            }
            return out;
        }

        double[] triple(JsonNode n, String path) {
            JsonNode v = field(n, path);
            if (!v.isArray() || v.size() != 3) {
                throw new BundleException(where + ": " + path + " must be an array of 3 numbers (R, G, B), got " + v);
            }
            double[] d = new double[3];
            for (int i = 0; i < 3; i++) {
                if (!v.get(i).isNumber() || !Double.isFinite(v.get(i).asDouble())) {
                    throw new BundleException(where + ": " + path + "[" + i + "] must be a finite number, got " + v.get(i));
                }
                d[i] = v.get(i).asDouble();
            }
            return d;
        }
    }
}
