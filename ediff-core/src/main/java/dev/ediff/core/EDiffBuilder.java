package dev.ediff.core;

import dev.ediff.api.Expert;
import dev.ediff.api.Guidance;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.Sampler;
import dev.ediff.api.TextEncoder;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Builds an {@link EDiff}: its stages, encoders, and the resources it closes. Made by
 * {@link EDiff#builder()} (any cascade), {@link EDiff#builder(RoutingTree, dev.ediff.api.TensorShape)}
 * (one stage, whose defaults the {@code default*} methods set), or {@link EDiff#toBuilder()} (the
 * parts of a loaded pipeline, shared with it). A builder may build several pipelines; each one
 * closes the resources given to {@link #owning} when the last of them is closed.
 */
public final class EDiffBuilder {
    private String name = "custom";
    private final List<Stage> stages = new ArrayList<>();
    private final Map<String, TextEncoder> textEncoders = new LinkedHashMap<>();
    private ImageEncoder imageEncoder;
    private dev.ediff.core.text.PromptLayout layout;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final List<SharedResources> shared = new ArrayList<>();
    private final Stage.Builder single;
    private int cacheSize = 256;

    EDiffBuilder() {
        this.single = null;
    }

    EDiffBuilder(Stage.Builder single) {
        this.single = single;
    }

    /** A builder holding a pipeline's parts, sharing its resources ({@link EDiff#toBuilder()}). */
    EDiffBuilder(String name, List<Stage> stages, Conditioner conditioner, List<SharedResources> shared) {
        this.single = null;
        this.name = name;
        this.stages.addAll(stages);
        this.textEncoders.putAll(conditioner.textEncoders());
        this.imageEncoder = conditioner.imageEncoder();
        this.cacheSize = conditioner.cacheSize();
        this.layout = conditioner.layout();
        this.shared.addAll(shared);
    }

    private Stage.Builder single() {
        if (single == null) {
            throw new IllegalStateException("default* methods configure the single stage of EDiff.builder(tree, shape);"
                    + " for a cascade, set defaults on each Stage.builder");
        }
        return single;
    }

    /**
     * The model's name, recorded in metadata.
     *
     * @param modelName the name
     * @return this builder
     */
    public EDiffBuilder name(String modelName) {
        this.name = Objects.requireNonNull(modelName, "name");
        return this;
    }

    /**
     * The single stage's default sampler and steps (default: Heun, 20).
     *
     * @param sampler the sampler
     * @param steps   its number of steps, at least 1
     * @return this builder
     */
    public EDiffBuilder defaultSampler(Sampler sampler, int steps) {
        single().defaultSampler(sampler, steps);
        return this;
    }

    /**
     * The single stage's schedule (default: EDM's Karras schedule).
     *
     * @param schedule the schedule
     * @return this builder
     */
    public EDiffBuilder defaultSchedule(NoiseSchedule schedule) {
        single().schedule(schedule);
        return this;
    }

    /**
     * The single stage's default guidance (default: none).
     *
     * @param guidance the guidance
     * @return this builder
     */
    public EDiffBuilder defaultGuidance(Guidance guidance) {
        single().defaultGuidance(guidance);
        return this;
    }

    /**
     * Appends a stage; stages after the first must be super-resolution stages.
     *
     * @param stage the stage
     * @return this builder
     */
    public EDiffBuilder stage(Stage stage) {
        stages.add(Objects.requireNonNull(stage, "stage"));
        return this;
    }

    /**
     * Puts {@code expert} on {@code interval} of the stage called {@code stage}: its routing tree
     * keeps the other experts on what remains of their intervals (see
     * {@link RoutingTree#withExpert}). The stage keeps its shape, defaults and conditioning roles.
     *
     * <pre>{@code
     * EDiff mine = bundled.toBuilder().replaceExpert("base", NoiseInterval.below(0.5), myExpert).build();
     * }</pre>
     *
     * <p>To forward the calls of a wrapped expert (its sessions, cancellation and batch limit),
     * extend {@link dev.ediff.api.ForwardingExpert}. A new expert holding resources is closed with
     * the pipeline when it is also given to {@link #owning}.
     *
     * @param stage    the stage name, e.g. {@code "base"}
     * @param interval the noise levels {@code expert} takes over
     * @param expert   the expert
     * @return this builder
     * @throws IllegalArgumentException when there is no such stage (the message lists the stages)
     */
    public EDiffBuilder replaceExpert(String stage, NoiseInterval interval, Expert expert) {
        Objects.requireNonNull(stage, "stage");
        if (single != null && stage.equals("base")) {
            throw new IllegalStateException("EDiff.builder(tree, shape) takes its tree as given; build the tree with"
                    + " RoutingTree.withExpert instead");
        }
        for (int i = 0; i < stages.size(); i++) {
            Stage s = stages.get(i);
            if (s.name().equals(stage)) {
                stages.set(i, s.withRoutingTree(s.routingTree().withExpert(interval, expert)));
                return this;
            }
        }
        throw new IllegalArgumentException("no stage '" + stage + "' to put an expert in; the stages are "
                + stages.stream().map(Stage::name).toList());
    }

    /**
     * Adds a text encoder; at most one per role.
     *
     * @param encoder the encoder
     * @return this builder
     * @throws IllegalArgumentException when an encoder with the same role was added
     */
    public EDiffBuilder textEncoder(TextEncoder encoder) {
        Objects.requireNonNull(encoder, "encoder");
        if (textEncoders.putIfAbsent(encoder.role(), encoder) != null) {
            throw new IllegalArgumentException("two text encoders with role '" + encoder.role() + "'");
        }
        return this;
    }

    /**
     * Sets the image (style) encoder.
     *
     * @param encoder the encoder
     * @return this builder
     */
    public EDiffBuilder imageEncoder(ImageEncoder encoder) {
        this.imageEncoder = Objects.requireNonNull(encoder, "encoder");
        return this;
    }

    /**
     * The model's prompt layout: prompts naming two objects of its vocabulary are encoded as one
     * phrase per object, each with its cell ({@link dev.ediff.api.Request.Builder#layout(boolean)}).
     * Needs text encoders that implement {@link TextEncoder#encodePhrase}.
     *
     * @param promptLayout the layout, or null for none (the default: prompts are encoded whole)
     * @return this builder
     */
    public EDiffBuilder layout(dev.ediff.core.text.PromptLayout promptLayout) {
        this.layout = promptLayout;
        return this;
    }

    /**
     * How many prompt encodings to cache (default 256; style embeddings get an eighth, the assembled
     * encodings of laid-out prompts a quarter).
     *
     * @param entries at least 1
     * @return this builder
     */
    public EDiffBuilder cacheSize(int entries) {
        if (entries < 1) {
            throw new IllegalArgumentException("cache size must be >= 1, got " + entries);
        }
        this.cacheSize = entries;
        return this;
    }

    /**
     * A resource the pipeline closes when it is closed (in reverse order of adding). A resource
     * that is also a {@link GenerationScope} is told when each generation begins and ends.
     *
     * @param resource the resource
     * @return this builder
     */
    public EDiffBuilder owning(AutoCloseable resource) {
        owned.add(Objects.requireNonNull(resource, "resource"));
        return this;
    }

    /**
     * Builds the pipeline.
     *
     * @return a new pipeline
     * @throws IllegalArgumentException with no stage, duplicate stage names, or a later stage
     *                                  that is not a super-resolution stage
     */
    public EDiff build() {
        List<Stage> all = new ArrayList<>(stages);
        if (single != null) {
            if (!stages.isEmpty()) {
                throw new IllegalArgumentException("EDiff.builder(tree, shape) makes one stage; do not add others");
            }
            all.add(single.build());
        }
        if (all.isEmpty()) {
            throw new IllegalArgumentException("a pipeline needs at least one stage");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < all.size(); i++) {
            Stage s = all.get(i);
            if (!names.add(s.name())) {
                throw new IllegalArgumentException("two stages are named '" + s.name() + "'");
            }
            if (i > 0 && !s.isSuperResolution()) {
                throw new IllegalArgumentException("stage '" + s.name() + "' follows another stage, so it must be a"
                        + " super-resolution stage (Stage.Builder.superResolution)");
            }
        }
        if (!owned.isEmpty()) {
            shared.add(new SharedResources(owned)); // later builds from this builder share them too
            owned.clear();
        }
        SharedResources.acquireAll(shared);
        return new EDiff(name, all, new Conditioner(textEncoders, imageEncoder, cacheSize, layout), shared);
    }
}
