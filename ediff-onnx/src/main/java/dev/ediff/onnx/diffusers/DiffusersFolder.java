package dev.ediff.onnx.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.ediff.api.EDiffException;
import dev.ediff.core.schedule.SchedulerConfig;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.core.text.TokenizerFolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A diffusers model folder as Hugging Face's ONNX exports lay it out, read and checked without
 * loading any graph: {@code model_index.json} gives the {@link DiffusersFamily}; every component the
 * family needs must be listed there and present on disk ({@code <name>/model.onnx} for a model,
 * a tokenizer file set for a tokenizer); {@code scheduler/scheduler_config.json} and the VAE's
 * {@code config.json} are parsed. Every problem is one {@link EDiffException} naming the file and
 * what would be right. Immutable.
 */
public final class DiffusersFolder {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The VAE's latent scaling: the denoiser's latents {@code z} decode as
     * {@code decoder(z / scalingFactor + shiftFactor)}.
     *
     * @param scalingFactor  {@code scaling_factor} (SD 0.18215, SDXL 0.13025, SD3 1.5305)
     * @param shiftFactor    {@code shift_factor} (SD3 0.0609; 0 when absent)
     * @param latentChannels {@code latent_channels} (4, or 16 for SD3)
     */
    public record VaeScaling(double scalingFactor, double shiftFactor, int latentChannels) {
    }

    private final Path root;
    private final JsonNode index;
    private final DiffusersFamily family;
    private final SchedulerConfig scheduler;
    private final VaeScaling vae;

    private DiffusersFolder(Path root, JsonNode index, DiffusersFamily family, SchedulerConfig scheduler, VaeScaling vae) {
        this.root = root;
        this.index = index;
        this.family = family;
        this.scheduler = scheduler;
        this.vae = vae;
    }

    /**
     * Reads and checks {@code folder}.
     *
     * @param folder a folder with {@code model_index.json}
     * @return the checked folder
     * @throws EDiffException naming the missing or unsupported file, class or value
     */
    public static DiffusersFolder open(Path folder) {
        Path indexFile = folder.resolve("model_index.json");
        if (!Files.isRegularFile(indexFile)) {
            throw new EDiffException(folder + ": no model_index.json; expected a diffusers model folder"
                    + " (as optimum-cli export onnx writes it)");
        }
        JsonNode index = readJson(indexFile);
        String cls = index.path("_class_name").asText("");
        if (cls.isEmpty()) {
            throw new EDiffException(indexFile + ": no _class_name; expected the pipeline class, e.g. StableDiffusionXLPipeline");
        }
        boolean refinerHint = index.path("requires_aesthetics_score").asBoolean(false) || !listed(index, "text_encoder");
        DiffusersFamily family = DiffusersFamily.of(cls, refinerHint, indexFile.toString());
        for (String component : family.requiredComponents()) {
            if (!listed(index, component)) {
                throw new EDiffException(indexFile + ": component '" + component + "' is missing or null; a " + family
                        + " pipeline needs " + String.join(", ", family.requiredComponents()));
            }
            requirePresent(folder, component);
        }
        for (String optional : new String[] {"tokenizer_3", "text_encoder_3"}) {
            if (family == DiffusersFamily.SD3 && listed(index, optional)) {
                requirePresent(folder, optional);
            }
        }
        Path schedFile = folder.resolve("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(schedFile)) {
            throw new EDiffException(schedFile + " is missing; expected the scheduler's configuration");
        }
        SchedulerConfig scheduler;
        try {
            scheduler = SchedulerConfig.read(schedFile);
        } catch (IllegalArgumentException e) {
            throw new EDiffException(e.getMessage(), e);
        }
        if ((family == DiffusersFamily.SD3) != (scheduler.prediction() == SchedulerConfig.Prediction.FLOW)) {
            throw new EDiffException(schedFile + ": scheduler '" + scheduler.className() + "' does not fit a " + family
                    + " pipeline; expected " + (family == DiffusersFamily.SD3 ? SchedulerConfig.FLOW_MATCH_EULER
                    : "a discrete-time scheduler (e.g. EulerDiscreteScheduler)"));
        }
        JsonNode vaeCfg = optionalJson(folder.resolve("vae_decoder").resolve("config.json"));
        int defaultChannels = family == DiffusersFamily.SD3 ? 16 : 4;
        double defaultScale = switch (family) {
            case SD3 -> 1.5305;
            case SDXL_BASE, SDXL_REFINER -> 0.13025;
            default -> 0.18215;
        };
        VaeScaling vae = new VaeScaling(vaeCfg.path("scaling_factor").asDouble(defaultScale),
                vaeCfg.path("shift_factor").isNumber() ? vaeCfg.get("shift_factor").asDouble() : 0.0,
                vaeCfg.path("latent_channels").asInt(defaultChannels));
        return new DiffusersFolder(folder, index, family, scheduler, vae);
    }

    /** @return the folder's path */
    public Path root() {
        return root;
    }

    /** @return the family {@code model_index.json} names */
    public DiffusersFamily family() {
        return family;
    }

    /** @return the pipeline class of {@code model_index.json} */
    public String pipelineClass() {
        return index.path("_class_name").asText();
    }

    /** @return the parsed {@code scheduler/scheduler_config.json} */
    public SchedulerConfig scheduler() {
        return scheduler;
    }

    /** @return the VAE's latent scaling */
    public VaeScaling vae() {
        return vae;
    }

    /** @return whether SDXL zeroes the negative embeddings when no negative prompt is given ({@code force_zeros_for_empty_prompt}) */
    public boolean forceZerosForEmptyPrompt() {
        return index.path("force_zeros_for_empty_prompt").asBoolean(family == DiffusersFamily.SDXL_BASE);
    }

    /**
     * Whether {@code component} is listed (non-null) in {@code model_index.json} and present.
     *
     * @param component a component folder name, e.g. {@code text_encoder_3}
     * @return true when it can be loaded
     */
    public boolean has(String component) {
        return listed(index, component) && Files.isDirectory(root.resolve(component));
    }

    /**
     * {@code <component>/model.onnx}, checked to exist.
     *
     * @param component a component folder name
     * @return the graph file
     * @throws EDiffException if the folder does not have the component
     */
    public Path model(String component) {
        if (!has(component)) {
            throw new EDiffException(root.resolve("model_index.json") + ": component '" + component + "' is not part of this "
                    + family + " folder");
        }
        return root.resolve(component).resolve("model.onnx");
    }

    /**
     * {@code <component>/config.json}, or an empty node when the export wrote none.
     *
     * @param component a component folder name
     * @return the parsed config, or a missing node
     */
    public JsonNode config(String component) {
        Optional<Path> f = Optional.of(root.resolve(component).resolve("config.json")).filter(Files::isRegularFile);
        return f.map(DiffusersFolder::readJson).orElse(MissingNode.getInstance());
    }

    /**
     * The tokenizer in folder {@code component} (tokenizer.json, spiece.model or vocab.json + merges.txt).
     *
     * @param component a tokenizer folder name, e.g. {@code tokenizer_2}
     * @return the loaded tokenizer
     */
    public Tokenizer tokenizer(String component) {
        if (!has(component)) {
            throw new EDiffException(root.resolve("model_index.json") + ": tokenizer '" + component + "' is not part of this "
                    + family + " folder");
        }
        return TokenizerFolder.load(root.resolve(component));
    }

    @Override
    public String toString() {
        return "DiffusersFolder[" + root + ", " + family + " (" + pipelineClass() + ")]";
    }

    private static boolean listed(JsonNode index, String component) {
        JsonNode n = index.get(component);
        return n != null && n.isArray() && n.size() == 2 && !n.get(0).isNull() && !n.get(1).isNull();
    }

    private static void requirePresent(Path folder, String component) {
        Path dir = folder.resolve(component);
        if (component.startsWith("tokenizer")) {
            boolean ok = Files.isRegularFile(dir.resolve("tokenizer.json")) || Files.isRegularFile(dir.resolve("spiece.model"))
                    || (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt")));
            if (!ok) {
                throw new EDiffException(dir + ": tokenizer files are missing; expected tokenizer.json, spiece.model,"
                        + " or vocab.json + merges.txt");
            }
            return;
        }
        Path model = dir.resolve("model.onnx");
        if (!Files.isRegularFile(model)) {
            throw new EDiffException(model + " is missing; expected the '" + component + "' component exported to ONNX");
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new EDiffException(file + ": expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new EDiffException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static JsonNode optionalJson(Path file) {
        return Files.isRegularFile(file) ? readJson(file) : MissingNode.getInstance();
    }
}
