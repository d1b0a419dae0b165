package dev.ediff.core;

import dev.ediff.api.Guidance;
import dev.ediff.api.ImageEncoder;
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
 * {@link EDiff#builder()} (any cascade) or {@link EDiff#builder(RoutingTree, dev.ediff.api.TensorShape)}
 * (one stage, whose defaults the {@code default*} methods set).
 */
public final class EDiffBuilder {
    private String name = "custom";
    private final List<Stage> stages = new ArrayList<>();
    private final Map<String, TextEncoder> textEncoders = new LinkedHashMap<>();
    private ImageEncoder imageEncoder;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final Stage.Builder single;
    private int cacheSize = 256;

    EDiffBuilder() {
        this.single = null;
    }

    EDiffBuilder(Stage.Builder single) {
        this.single = single;
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
     * How many prompt encodings to cache (default 256; style embeddings get an eighth).
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
     * A resource the pipeline closes when it is closed (in reverse order of adding).
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
        return new EDiff(name, all, new Conditioner(textEncoders, imageEncoder, cacheSize), owned);
    }
}
