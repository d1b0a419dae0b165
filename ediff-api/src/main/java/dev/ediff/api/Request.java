package dev.ediff.api;

import java.util.Objects;
import java.util.Optional;

/**
 * What to generate: an immutable value made with {@link #builder()} or {@link #prompt(String)}.
 * Everything not set falls back to the pipeline's defaults.
 *
 * <pre>{@code
 * Request r = Request.prompt("a red circle").seed(42).count(4)
 *         .sampler(Samplers.heun(), 20).guidance(Guidance.of(3.0)).build();
 * }</pre>
 */
public final class Request {

    private final String prompt;
    private final String negativePrompt;
    private final Long seed;
    private final int count;
    private final Sampler sampler;
    private final Integer steps;
    private final NoiseSchedule schedule;
    private final Guidance guidance;
    private final double[] initialNoise;
    private final NoiseSource noiseSource;
    private final Conditioning conditioning;
    private final Conditioning unconditioning;
    private final ProgressListener progress;
    private final StepCallback stepObserver;
    private final CancellationToken cancellation;

    private Request(Builder b) {
        this.prompt = b.prompt;
        this.negativePrompt = b.negativePrompt;
        this.seed = b.seed;
        this.count = b.count;
        this.sampler = b.sampler;
        this.steps = b.steps;
        this.schedule = b.schedule;
        this.guidance = b.guidance;
        this.initialNoise = b.initialNoise == null ? null : b.initialNoise.clone();
        this.noiseSource = b.noiseSource;
        this.conditioning = b.conditioning;
        this.unconditioning = b.unconditioning;
        this.progress = b.progress;
        this.stepObserver = b.stepObserver;
        this.cancellation = b.cancellation;
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** A new builder with a prompt. */
    public static Builder prompt(String prompt) {
        return new Builder().prompt(prompt);
    }

    /** The prompt ("" when none). */
    public String prompt() {
        return prompt;
    }

    /** The negative prompt ("" when none). */
    public String negativePrompt() {
        return negativePrompt;
    }

    /** The seed of the first image, if one was set (otherwise a random seed is drawn and recorded). */
    public Optional<Long> seed() {
        return Optional.ofNullable(seed);
    }

    /** How many images to generate in one batch. */
    public int count() {
        return count;
    }

    public Optional<Sampler> sampler() {
        return Optional.ofNullable(sampler);
    }

    public Optional<Integer> steps() {
        return Optional.ofNullable(steps);
    }

    public Optional<NoiseSchedule> schedule() {
        return Optional.ofNullable(schedule);
    }

    public Optional<Guidance> guidance() {
        return Optional.ofNullable(guidance);
    }

    /** Caller-supplied standard-normal initial noise for the whole batch (a copy), if set. */
    public Optional<double[]> initialNoise() {
        return Optional.ofNullable(initialNoise).map(double[]::clone);
    }

    /** Caller-supplied noise for stochastic samplers, replacing the seeded one, if set. */
    public Optional<NoiseSource> noiseSource() {
        return Optional.ofNullable(noiseSource);
    }

    /** Explicit conditioning, bypassing the text encoders, if set. */
    public Optional<Conditioning> conditioning() {
        return Optional.ofNullable(conditioning);
    }

    /** Explicit conditioning of the unconditional guidance branch, if set. */
    public Optional<Conditioning> unconditioning() {
        return Optional.ofNullable(unconditioning);
    }

    public ProgressListener progress() {
        return progress;
    }

    /** Observes each step's state and denoised estimate (live previews, debugging). */
    public StepCallback stepObserver() {
        return stepObserver;
    }

    public CancellationToken cancellation() {
        return cancellation;
    }

    /** A builder holding this request's values, to derive a changed request. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.prompt = prompt;
        b.negativePrompt = negativePrompt;
        b.seed = seed;
        b.count = count;
        b.sampler = sampler;
        b.steps = steps;
        b.schedule = schedule;
        b.guidance = guidance;
        b.initialNoise = initialNoise;
        b.noiseSource = noiseSource;
        b.conditioning = conditioning;
        b.unconditioning = unconditioning;
        b.progress = progress;
        b.stepObserver = stepObserver;
        b.cancellation = cancellation;
        return b;
    }

    /** Builds a {@link Request}; every setter validates its argument at once. */
    public static final class Builder {
        private String prompt = "";
        private String negativePrompt = "";
        private Long seed;
        private int count = 1;
        private Sampler sampler;
        private Integer steps;
        private NoiseSchedule schedule;
        private Guidance guidance;
        private double[] initialNoise;
        private NoiseSource noiseSource;
        private Conditioning conditioning;
        private Conditioning unconditioning;
        private ProgressListener progress = ProgressListener.NONE;
        private StepCallback stepObserver = StepCallback.NONE;
        private CancellationToken cancellation = new CancellationToken();

        private Builder() {
        }

        public Builder prompt(String prompt) {
            this.prompt = Objects.requireNonNull(prompt, "prompt");
            return this;
        }

        public Builder negativePrompt(String negativePrompt) {
            this.negativePrompt = Objects.requireNonNull(negativePrompt, "negativePrompt");
            return this;
        }

        /** The seed of image 0; image {@code i} of the batch uses {@code seed + i}. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The number of images, at least 1. */
        public Builder count(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("count must be >= 1, got " + count);
            }
            this.count = count;
            return this;
        }

        public Builder sampler(Sampler sampler) {
            this.sampler = Objects.requireNonNull(sampler, "sampler");
            return this;
        }

        /** The sampler and its number of steps. */
        public Builder sampler(Sampler sampler, int steps) {
            return sampler(sampler).steps(steps);
        }

        /** The number of sampler steps, at least 1. */
        public Builder steps(int steps) {
            if (steps < 1) {
                throw new IllegalArgumentException("steps must be >= 1, got " + steps);
            }
            this.steps = steps;
            return this;
        }

        public Builder schedule(NoiseSchedule schedule) {
            this.schedule = Objects.requireNonNull(schedule, "schedule");
            return this;
        }

        public Builder guidance(Guidance guidance) {
            this.guidance = Objects.requireNonNull(guidance, "guidance");
            return this;
        }

        /** Classifier-free guidance with {@code scale} (see {@link Guidance#of}). */
        public Builder guidance(double scale) {
            return guidance(Guidance.of(scale));
        }

        /**
         * Standard-normal initial noise for the whole batch ({@code count * C * H * W} values, row
         * major); the pipeline scales it by the first sigma. Its length is checked against the model.
         */
        public Builder initialNoise(double[] noise) {
            Objects.requireNonNull(noise, "noise");
            for (double v : noise) {
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("initial noise must be finite, found " + v);
                }
            }
            this.initialNoise = noise.clone();
            return this;
        }

        /** Noise for stochastic samplers, replacing the seeded per-image noise. */
        public Builder noiseSource(NoiseSource noiseSource) {
            this.noiseSource = Objects.requireNonNull(noiseSource, "noiseSource");
            return this;
        }

        /** Explicit conditioning for every image (batch 1, repeated) or per image (batch = count). */
        public Builder conditioning(Conditioning conditioning) {
            this.conditioning = Objects.requireNonNull(conditioning, "conditioning");
            return this;
        }

        /** Explicit conditioning for the unconditional branch of guidance. */
        public Builder unconditioning(Conditioning unconditioning) {
            this.unconditioning = Objects.requireNonNull(unconditioning, "unconditioning");
            return this;
        }

        public Builder onProgress(ProgressListener listener) {
            this.progress = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Observes every sampler step: the state {@code x_i} and {@code D(x_i; sigma_i)}, for live
         * previews. The arrays are valid only during the call and must not be modified.
         */
        public Builder onStep(StepCallback observer) {
            this.stepObserver = Objects.requireNonNull(observer, "observer");
            return this;
        }

        public Builder cancellation(CancellationToken token) {
            this.cancellation = Objects.requireNonNull(token, "token");
            return this;
        }

        public Request build() {
            return new Request(this);
        }
    }
}
