package dev.ediff.onnx;

import dev.ediff.core.model.Parameterization;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How an ONNX graph plays the role of an expert denoiser: which graph input receives the noisy
 * sample {@code x}, which receives the noise conditioning, which inputs receive each
 * {@link dev.ediff.api.Conditioning} role, which output holds the prediction, and how that
 * prediction maps to {@code D(x; sigma)} ({@link Parameterization}). Immutable; build with
 * {@link #builder()}.
 *
 * <p>Every tensor named here must be float32. {@code x} and the output have rank 4
 * {@code [B, C, H, W]}; the noise input has the rank of its {@link NoiseInput}; a conditioning
 * input has the rank of the tensor given for its role, batch first.
 */
public final class ExpertContract {

    /** The shapes a noise-conditioning input may have. Every sample of a call gets the same value. */
    public enum NoiseInput {
        /** {@code [B]}: one value per sample. */
        PER_SAMPLE(1, "[B]"),
        /** {@code [B, 1]}: one value per sample, as a column. */
        PER_SAMPLE_COLUMN(2, "[B, 1]"),
        /** {@code []}: a rank-0 scalar shared by the batch. */
        SCALAR(0, "[]");

        private final int rank;
        private final String shape;

        NoiseInput(int rank, String shape) {
            this.rank = rank;
            this.shape = shape;
        }

        /** {@return the rank the graph input must have} */
        public int rank() {
            return rank;
        }

        /** {@return the shape in words, e.g. {@code [B]}} */
        public String shape() {
            return shape;
        }

        long[] dims(int batch) {
            return switch (this) {
                case PER_SAMPLE -> new long[] {batch};
                case PER_SAMPLE_COLUMN -> new long[] {batch, 1};
                case SCALAR -> new long[0];
            };
        }
    }

    /**
     * A conditioning role fed to a graph input.
     *
     * @param input the graph input's name
     * @param fill  when present, the value of every element fed when the role is absent from the
     *              conditioning (the input must then have a static shape apart from the batch);
     *              when empty, the role is required whenever the graph needs the input
     */
    public record ConditioningInput(String input, Optional<Float> fill) {
        /**
         * Checks the input name and that {@code fill} is not null.
         *
         * @param input the graph input's name
         * @param fill  when present, the value of every element fed when the role is absent from the
         *        conditioning (the input must then have a static shape apart from the batch);
         *        when empty, the role is required whenever the graph needs the input
         */
        public ConditioningInput {
            requireName(input, "conditioning input");
            Objects.requireNonNull(fill, "fill");
        }
    }

    private final String xInput;
    private final String noiseInput;
    private final NoiseInput noiseShape;
    private final Map<String, ConditioningInput> conditioning;
    private final String output;
    private final Parameterization parameterization;
    private final int maxBatch;

    private ExpertContract(Builder b) {
        this.xInput = requireName(b.xInput, "x input");
        this.noiseInput = requireName(b.noiseInput, "noise input");
        this.noiseShape = b.noiseShape;
        this.conditioning = Collections.unmodifiableMap(new LinkedHashMap<>(b.conditioning));
        this.output = requireName(b.output, "output");
        this.parameterization = b.parameterization;
        this.maxBatch = b.maxBatch;
        if (xInput.equals(noiseInput)) {
            throw new IllegalArgumentException("x and the noise level cannot share the input '" + xInput + "'");
        }
        for (Map.Entry<String, ConditioningInput> e : conditioning.entrySet()) {
            String in = e.getValue().input();
            if (in.equals(xInput) || in.equals(noiseInput)) {
                throw new IllegalArgumentException("conditioning role '" + e.getKey() + "' is mapped to input '" + in
                        + "', which is already the " + (in.equals(xInput) ? "x" : "noise") + " input");
            }
        }
    }

    private static String requireName(String name, String what) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("the " + what + " name must be set and non-blank");
        }
        return name;
    }

    /** {@return a builder; the defaults are {@code x}, {@code sigma} of shape {@code [B]}, output {@code D}, x0 parameterization} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the graph input receiving {@code cIn * x}, rank 4} */
    public String xInput() {
        return xInput;
    }

    /** {@return the graph input receiving {@code cNoise}} */
    public String noiseInput() {
        return noiseInput;
    }

    /** {@return the shape of the noise input} */
    public NoiseInput noiseShape() {
        return noiseShape;
    }

    /** {@return conditioning role to graph input, in declaration order} */
    public Map<String, ConditioningInput> conditioning() {
        return conditioning;
    }

    /** {@return the graph output holding the network prediction {@code F}, rank 4} */
    public String output() {
        return output;
    }

    /** {@return how {@code F} maps to {@code D}: {@code D = cSkip x + cOut F(cIn x, cNoise)}} */
    public Parameterization parameterization() {
        return parameterization;
    }

    /** {@return the largest batch one call may have, if the contract fixes one} */
    public OptionalInt maxBatch() {
        return maxBatch > 0 ? OptionalInt.of(maxBatch) : OptionalInt.empty();
    }

    @Override
    public String toString() {
        return "ExpertContract[x=" + xInput + ", noise=" + noiseInput + " " + noiseShape.shape() + ", conditioning="
                + conditioning + ", output=" + output + (maxBatch > 0 ? ", maxBatch=" + maxBatch : "") + "]";
    }

    /** Builds an {@link ExpertContract}. */
    public static final class Builder {
        private String xInput = "x";
        private String noiseInput = "sigma";
        private NoiseInput noiseShape = NoiseInput.PER_SAMPLE;
        private final Map<String, ConditioningInput> conditioning = new LinkedHashMap<>();
        private String output = "D";
        private Parameterization parameterization = Parameterization.x0();
        private int maxBatch;

        private Builder() {
        }

        /**
         * The input receiving the (scaled) noisy sample (default {@code x}).
         *
         * @param name the graph input
         * @return this builder
         */
        public Builder xInput(String name) {
            this.xInput = name;
            return this;
        }

        /**
         * The input receiving the noise conditioning and its shape (default {@code sigma}, {@code [B]}).
         *
         * @param name  the graph input
         * @param shape its shape
         * @return this builder
         */
        public Builder noiseInput(String name, NoiseInput shape) {
            this.noiseInput = name;
            this.noiseShape = Objects.requireNonNull(shape, "shape");
            return this;
        }

        /**
         * Feeds conditioning {@code role} to graph input {@code input}; the role must be present.
         *
         * @param role  the conditioning role
         * @param input the graph input
         * @return this builder
         */
        public Builder conditioning(String role, String input) {
            conditioning.put(requireName(role, "conditioning role"), new ConditioningInput(input, Optional.empty()));
            return this;
        }

        /**
         * Feeds conditioning {@code role} to graph input {@code input}; when the role is absent, the
         * input is filled with {@code fill} (e.g. class 0, or an all-zero "no text" embedding).
         *
         * @param role  the conditioning role
         * @param input the graph input
         * @param fill  the value of every element when the role is absent
         * @return this builder
         */
        public Builder conditioning(String role, String input, float fill) {
            conditioning.put(requireName(role, "conditioning role"), new ConditioningInput(input, Optional.of(fill)));
            return this;
        }

        /**
         * The output holding the prediction (default {@code D}).
         *
         * @param name the graph output
         * @return this builder
         */
        public Builder output(String name) {
            this.output = name;
            return this;
        }

        /**
         * How the output maps to {@code D} (default {@link Parameterization#x0()}: the output is D).
         *
         * @param parameterization the parameterization the model was trained in
         * @return this builder
         */
        public Builder parameterization(Parameterization parameterization) {
            this.parameterization = Objects.requireNonNull(parameterization, "parameterization");
            return this;
        }

        /**
         * The largest batch one call may have (default: whatever the graph's batch dimension allows).
         *
         * @param maxBatch at least 1
         * @return this builder
         */
        public Builder maxBatch(int maxBatch) {
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
            }
            this.maxBatch = maxBatch;
            return this;
        }

        /**
         * Builds the contract.
         *
         * @return the contract
         */
        public ExpertContract build() {
            return new ExpertContract(this);
        }
    }
}
