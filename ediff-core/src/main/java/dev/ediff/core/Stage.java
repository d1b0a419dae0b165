package dev.ediff.core;

import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.Sample;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One stage of a cascade: its experts, sample shape, default sampling settings and, for a
 * super-resolution stage, the default noise-augmentation sigma of its low-resolution input. Immutable.
 */
public final class Stage {

    private final String name;
    private final RoutingTree tree;
    private final TensorShape sampleShape;
    private final Sampler sampler;
    private final int steps;
    private final NoiseSchedule schedule;
    private final Guidance guidance;
    private final Double augmentationSigma;
    private final Set<String> roles;
    private final Decoder decoder;
    private final boolean restartPerExpert;

    /**
     * Turns a stage's samples into its output, e.g. a VAE decoder turning the latents a latent
     * diffusion stage samples into pixels. Thread-safe; it does not own what it uses (the pipeline
     * that built the stage does).
     */
    @FunctionalInterface
    public interface Decoder {

        /**
         * Decodes one sample.
         *
         * @param sample a sample of the stage's {@link #sampleShape()}, batch 1
         * @return the output sample, with the same seed and its own shape
         */
        Sample decode(Sample sample);
    }

    private Stage(Builder b) {
        this.name = b.name;
        this.tree = b.tree;
        this.sampleShape = b.sampleShape;
        this.sampler = b.sampler;
        this.steps = b.steps;
        this.schedule = b.schedule;
        this.guidance = b.guidance;
        this.augmentationSigma = b.augmentationSigma;
        this.roles = b.roles == null ? null : Set.copyOf(b.roles);
        this.decoder = b.decoder;
        this.restartPerExpert = b.restartPerExpert;
    }

    /**
     * A builder for a stage.
     *
     * @param name        unique within the cascade, e.g. {@code "base"}, {@code "sr64"}
     * @param tree        the stage's experts
     * @param sampleShape the shape of one sample, batch 1
     * @return the builder
     */
    public static Builder builder(String name, RoutingTree tree, TensorShape sampleShape) {
        return new Builder(name, tree, sampleShape);
    }

    /** {@return the stage's name, unique within the cascade} */
    public String name() {
        return name;
    }

    /** {@return the stage's experts} */
    public RoutingTree routingTree() {
        return tree;
    }

    /** {@return the shape of one sample, batch 1} */
    public TensorShape sampleShape() {
        return sampleShape;
    }

    /** {@return the default sampler} */
    public Sampler defaultSampler() {
        return sampler;
    }

    /** {@return the default number of steps} */
    public int defaultSteps() {
        return steps;
    }

    /** {@return the noise schedule} */
    public NoiseSchedule schedule() {
        return schedule;
    }

    /** {@return the default guidance} */
    public Guidance defaultGuidance() {
        return guidance;
    }

    /** {@return present for a super-resolution stage: the default augmentation sigma of the low-res input} */
    public Optional<Double> augmentationSigma() {
        return Optional.ofNullable(augmentationSigma);
    }

    /** {@return true for a super-resolution stage (it takes the previous stage's output)} */
    public boolean isSuperResolution() {
        return augmentationSigma != null;
    }

    /** {@return present for a latent stage: what turns its samples into its output} */
    public Optional<Decoder> decoder() {
        return Optional.ofNullable(decoder);
    }

    /** {@return true when the sampler starts afresh where the routing tree hands over to another expert} */
    public boolean restartsPerExpert() {
        return restartPerExpert;
    }

    /** {@return the conditioning roles the experts take, or empty when they take whatever they are given} */
    public Optional<Set<String>> roles() {
        return Optional.ofNullable(roles);
    }

    /**
     * Whether the experts take {@code role} (always true when the roles are not declared).
     *
     * @param role a conditioning role
     * @return true when it is passed to the experts
     */
    public boolean accepts(String role) {
        return roles == null || roles.contains(role);
    }

    /**
     * This stage with other experts and everything else the same (shape, defaults, roles).
     *
     * @param experts the new routing tree
     * @return a new stage
     */
    public Stage withRoutingTree(RoutingTree experts) {
        Builder b = new Builder(name, experts, sampleShape).defaultSampler(sampler, steps).schedule(schedule)
                .defaultGuidance(guidance);
        b.augmentationSigma = augmentationSigma;
        b.roles = roles;
        b.decoder = decoder;
        b.restartPerExpert = restartPerExpert;
        return b.build();
    }

    @Override
    public String toString() {
        return "Stage[" + name + " " + sampleShape + " " + tree + "]";
    }

    /** Builds a {@link Stage}. */
    public static final class Builder {
        private final String name;
        private final RoutingTree tree;
        private final TensorShape sampleShape;
        private Sampler sampler = Samplers.heun();
        private int steps = 20;
        private NoiseSchedule schedule = Schedules.edm();
        private Guidance guidance = Guidance.NONE;
        private Double augmentationSigma;
        private Set<String> roles;
        private Decoder decoder;
        private boolean restartPerExpert;

        private Builder(String name, RoutingTree tree, TensorShape sampleShape) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a stage needs a non-blank name");
            }
            this.name = name;
            this.tree = Objects.requireNonNull(tree, "tree");
            this.sampleShape = Objects.requireNonNull(sampleShape, "sampleShape");
            if (sampleShape.batch() != 1) {
                throw new IllegalArgumentException("sampleShape is the shape of one sample: batch must be 1, got " + sampleShape);
            }
        }

        /**
         * Default sampler and steps (Heun, 20 unless set).
         *
         * @param s the sampler
         * @param n its steps, at least 1
         * @return this builder
         */
        public Builder defaultSampler(Sampler s, int n) {
            this.sampler = Objects.requireNonNull(s, "sampler");
            if (n < 1) {
                throw new IllegalArgumentException("steps must be >= 1, got " + n);
            }
            this.steps = n;
            return this;
        }

        /**
         * The schedule (EDM's Karras schedule unless set).
         *
         * @param s the schedule
         * @return this builder
         */
        public Builder schedule(NoiseSchedule s) {
            this.schedule = Objects.requireNonNull(s, "schedule");
            return this;
        }

        /**
         * Default guidance (none unless set).
         *
         * @param g the guidance
         * @return this builder
         */
        public Builder defaultGuidance(Guidance g) {
            this.guidance = Objects.requireNonNull(g, "guidance");
            return this;
        }

        /**
         * Makes this a super-resolution stage.
         *
         * @param defaultAugmentationSigma the default noise level of the upsampled low-resolution input
         * @return this builder
         */
        public Builder superResolution(double defaultAugmentationSigma) {
            if (!Double.isFinite(defaultAugmentationSigma) || defaultAugmentationSigma < 0) {
                throw new IllegalArgumentException("augmentation sigma must be finite and >= 0, got "
                        + defaultAugmentationSigma);
            }
            this.augmentationSigma = defaultAugmentationSigma;
            return this;
        }

        /**
         * Declares the conditioning roles the experts take; others are not passed to them.
         *
         * @param accepted the roles
         * @return this builder
         */
        public Builder roles(Set<String> accepted) {
            this.roles = Set.copyOf(accepted);
            return this;
        }

        /**
         * Makes this a latent stage: every sample it draws goes through {@code d} (e.g. a VAE
         * decoder) before it is returned or handed to the next stage.
         *
         * @param d the decoder
         * @return this builder
         */
        public Builder decoder(Decoder d) {
            this.decoder = Objects.requireNonNull(d, "decoder");
            return this;
        }

        /**
         * Whether the sampler starts afresh at every step where the routing tree hands over to
         * another expert (off unless set): a multistep sampler then forgets the previous expert's
         * history and takes a first-order step, as two pipelines run one after the other do
         * (diffusers runs an SDXL refiner with a fresh scheduler from the base's latents). Single-step
         * samplers give the same result either way.
         *
         * @param restart true to restart per expert
         * @return this builder
         */
        public Builder restartPerExpert(boolean restart) {
            this.restartPerExpert = restart;
            return this;
        }

        /**
         * Builds the stage.
         *
         * @return the stage
         */
        public Stage build() {
            return new Stage(this);
        }
    }
}
