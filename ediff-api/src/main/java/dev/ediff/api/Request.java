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

    /**
     * The most images one request makes: 4096. A request is one batch, so every per-step buffer and
     * every model call grows with it; when generating, the batch is also bounded by its size
     * ({@code count x C x H x W}, see ediff-core's {@code BatchLimit}), which for 3x64x64 images
     * allows 2730. More images are more requests (seeds continue at {@code seed + count}).
     */
    public static final int MAX_COUNT = 4096;

    /**
     * The most sampler steps of a stage: 1000, the number of noise levels of DDPM-style training
     * (discrete-time models have no more to visit; continuous-time samplers converge in far fewer).
     */
    public static final int MAX_STEPS = 1000;

    /**
     * The largest style guidance strength: 100, as for {@link Guidance#MAX_SCALE} (useful values are
     * about 0.5 to 10; far beyond, the guided estimate only amplifies the difference of two branches).
     */
    public static final double MAX_STYLE_STRENGTH = 100;

    /**
     * The style strength the command line, the server and {@code ediff eval} use when none is given:
     * 2. Chosen for the default model on validation prompts (tools/mini/MODEL_CARD.md, session 7): at
     * strength 1 the output took the reference's background in 91% of 100 validation prompts, at 2 in
     * 100%, with the objects as right as without a reference.
     */
    public static final double DEFAULT_STYLE_STRENGTH = 2;

    private final String prompt;
    private final String negativePrompt;
    private final boolean negativePromptGiven;
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
    private final boolean t5;
    private final boolean clip;
    private final boolean layout;
    private final java.awt.image.BufferedImage styleImage;
    private final java.nio.file.Path styleFile;
    private final double styleStrength;
    private final String untilStage;
    private final boolean keepAllStages;
    private final java.util.Map<String, StageOptions> stageOptions;
    private final java.util.List<Paint> paints;

    private Request(Builder b) {
        this.prompt = b.prompt;
        this.negativePrompt = b.negativePrompt;
        this.negativePromptGiven = b.negativePromptGiven;
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
        this.t5 = b.t5;
        this.clip = b.clip;
        this.layout = b.layout;
        this.styleImage = b.styleImage;
        this.styleFile = b.styleFile;
        this.styleStrength = b.styleStrength;
        this.untilStage = b.untilStage;
        this.keepAllStages = b.keepAllStages;
        this.stageOptions = java.util.Map.copyOf(b.stageOptions);
        this.paints = java.util.List.copyOf(b.paints);
    }

    /** {@return a new builder} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A new builder with a prompt.
     *
     * @param prompt the prompt
     * @return the builder
     */
    public static Builder prompt(String prompt) {
        return new Builder().prompt(prompt);
    }

    /** {@return the prompt ("" when none)} */
    public String prompt() {
        return prompt;
    }

    /** {@return the negative prompt ("" when none)} */
    public String negativePrompt() {
        return negativePrompt;
    }

    /**
     * Whether a negative prompt was given, {@code ""} included. Most models treat an empty negative
     * prompt and none alike; SDXL does not: without a negative prompt it zeroes the unconditional
     * embeddings ({@code force_zeros_for_empty_prompt}), while an explicit {@code ""} is encoded.
     *
     * @return true when {@link Builder#negativePrompt} set one
     */
    public boolean negativePromptGiven() {
        return negativePromptGiven;
    }

    /** {@return the seed of the first image, if one was set (otherwise a random seed is drawn and recorded)} */
    public Optional<Long> seed() {
        return Optional.ofNullable(seed);
    }

    /** {@return how many images to generate in one batch} */
    public int count() {
        return count;
    }

    /** {@return the sampler of the first (base) stage, if set; later stages use {@link #stageOptions}} */
    public Optional<Sampler> sampler() {
        return Optional.ofNullable(sampler);
    }

    /** {@return the steps of the first stage, if set} */
    public Optional<Integer> steps() {
        return Optional.ofNullable(steps);
    }

    /** {@return the noise schedule of the first stage, if set} */
    public Optional<NoiseSchedule> schedule() {
        return Optional.ofNullable(schedule);
    }

    /** {@return the text guidance of the first stage, if set} */
    public Optional<Guidance> guidance() {
        return Optional.ofNullable(guidance);
    }

    /** {@return caller-supplied standard-normal initial noise for the whole batch (a copy), if set} */
    public Optional<double[]> initialNoise() {
        return Optional.ofNullable(initialNoise).map(double[]::clone);
    }

    /** {@return caller-supplied noise for stochastic samplers, replacing the seeded one, if set} */
    public Optional<NoiseSource> noiseSource() {
        return Optional.ofNullable(noiseSource);
    }

    /** {@return explicit conditioning, bypassing the text encoders, if set} */
    public Optional<Conditioning> conditioning() {
        return Optional.ofNullable(conditioning);
    }

    /** {@return explicit conditioning of the unconditional guidance branch, if set} */
    public Optional<Conditioning> unconditioning() {
        return Optional.ofNullable(unconditioning);
    }

    /** {@return the progress listener (one that ignores everything when none was set)} */
    public ProgressListener progress() {
        return progress;
    }

    /** {@return the observer of each step's state and denoised estimate (live previews, debugging)} */
    public StepCallback stepObserver() {
        return stepObserver;
    }

    /** {@return the token that cancels this generation} */
    public CancellationToken cancellation() {
        return cancellation;
    }

    /** {@return whether the T5 text encoder is used (default true)} */
    public boolean t5() {
        return t5;
    }

    /** {@return whether the CLIP text encoder is used (default true)} */
    public boolean clip() {
        return clip;
    }

    /**
     * {@return whether the prompt may be laid out (default true)}: when the model declares a prompt
     * layout and the prompt names two objects, each object's phrase, with its place, is encoded on
     * its own (see {@link Builder#layout(boolean)})
     */
    public boolean layout() {
        return layout;
    }

    /** {@return the style reference image, if given as an image (a copy)} */
    public Optional<java.awt.image.BufferedImage> styleImage() {
        return Optional.ofNullable(styleImage).map(Builder::copy);
    }

    /** {@return the style reference image, if given as a file (read when generating, with size checks)} */
    public Optional<java.nio.file.Path> styleFile() {
        return Optional.ofNullable(styleFile);
    }

    /** {@return true when a style reference was given} */
    public boolean hasStyle() {
        return styleImage != null || styleFile != null;
    }

    /** {@return the style guidance scale (0 when no style is given)} */
    public double styleStrength() {
        return styleStrength;
    }

    /** {@return the last stage to run, if the cascade should stop early} */
    public Optional<String> untilStage() {
        return Optional.ofNullable(untilStage);
    }

    /** {@return whether every stage's samples are kept in the result (default: the final stage's only)} */
    public boolean keepAllStages() {
        return keepAllStages;
    }

    /**
     * Overrides of the stage called {@code stage}, if any.
     *
     * @param stage the stage name
     * @return its overrides, or empty
     */
    public Optional<StageOptions> stageOptions(String stage) {
        return Optional.ofNullable(stageOptions.get(stage));
    }

    /** {@return the names of the stages with overrides} */
    public java.util.Set<String> stagesWithOptions() {
        return stageOptions.keySet();
    }

    /** {@return the painted phrases (paint-with-words), in the order given} */
    public java.util.List<Paint> paints() {
        return paints;
    }

    /** {@return a builder holding this request's values, to derive a changed request} */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.prompt = prompt;
        b.negativePrompt = negativePrompt;
        b.negativePromptGiven = negativePromptGiven;
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
        b.t5 = t5;
        b.clip = clip;
        b.layout = layout;
        b.styleImage = styleImage;
        b.styleFile = styleFile;
        b.styleStrength = styleStrength;
        b.untilStage = untilStage;
        b.keepAllStages = keepAllStages;
        b.stageOptions.putAll(stageOptions);
        b.paints.addAll(paints);
        return b;
    }

    /** Builds a {@link Request}; every setter validates its argument at once. */
    public static final class Builder {
        private String prompt = "";
        private String negativePrompt = "";
        private boolean negativePromptGiven;
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
        private boolean t5 = true;
        private boolean clip = true;
        private boolean layout = true;
        private java.awt.image.BufferedImage styleImage;
        private java.nio.file.Path styleFile;
        private double styleStrength;
        private String untilStage;
        private boolean keepAllStages;
        private final java.util.Map<String, StageOptions> stageOptions = new java.util.LinkedHashMap<>();
        private final java.util.List<Paint> paints = new java.util.ArrayList<>();

        private Builder() {
        }

        /**
         * Paints {@code phrase} (whole words of the prompt) into {@code mask} with weight {@code w'}
         * (paint-with-words), finite and in [0, {@link Paint#MAX_WEIGHT}]. Checked against the prompt
         * when generating.
         *
         * @param phrase whole words of the prompt
         * @param mask   where they go
         * @param weight the weight {@code w'}, finite and in [0, {@link Paint#MAX_WEIGHT}]
         * @return this builder
         * @throws IllegalArgumentException naming the phrase and the allowed range when the weight is outside it
         */
        public Builder paint(String phrase, Mask mask, double weight) {
            paints.add(new Paint(phrase, mask, weight));
            return this;
        }

        /**
         * Use the T5 text encoder (default true). With both encoders off the generation is unconditional.
         *
         * @param on whether to use it
         * @return this builder
         */
        public Builder t5(boolean on) {
            this.t5 = on;
            return this;
        }

        /**
         * Use the CLIP text encoder (default true).
         *
         * @param on whether to use it
         * @return this builder
         */
        public Builder clip(boolean on) {
            this.clip = on;
            return this;
        }

        /**
         * Lay the prompt out (default true). A model that declares a prompt layout (its vocabulary of
         * objects, cell and relation phrases) splits a prompt naming two objects into one phrase per
         * object with its cell, {@code "a small red circle above a large blue square"} into
         * {@code "a small red circle at the top"} and {@code "a large blue square at the bottom"},
         * and its text encoders encode each phrase on its own into its share of the token positions;
         * the pooled embedding is that of the phrases joined by {@code ", "}. False encodes the
         * prompt whole, as a model without a layout always does. The negative prompt is always
         * encoded whole, and a request that paints words is never laid out (the painted masks place
         * things). {@code Generation.layoutPhrases()} says which phrases were encoded.
         *
         * @param on whether to lay the prompt out
         * @return this builder
         */
        public Builder layout(boolean on) {
            this.layout = on;
            return this;
        }

        /**
         * Transfers the style of {@code reference} (its image embedding is a condition) with guidance
         * {@code strength}: {@code D = D_u + g_text (D_c - D_u) + strength (D_cs - D_c)}. Style
         * guidance applies at every noise level: a {@link Guidance#interval()} limits text guidance
         * only (outside it, {@code D = D_c + strength (D_cs - D_c)}).
         *
         * @param reference the style image
         * @param strength  the style guidance scale, finite and in [0, {@link #MAX_STYLE_STRENGTH}]
         * @return this builder
         * @throws IllegalArgumentException naming the field, the value and the range when it is outside
         */
        public Builder style(java.awt.image.BufferedImage reference, double strength) {
            Objects.requireNonNull(reference, "reference");
            this.styleImage = copy(reference);
            this.styleFile = null;
            this.styleStrength = checkStrength(strength);
            return this;
        }

        /**
         * Like {@link #style(java.awt.image.BufferedImage, double)}, reading the image from a file.
         *
         * @param reference the style image file, read when generating
         * @param strength  the style guidance scale, finite and in [0, {@link #MAX_STYLE_STRENGTH}]
         * @return this builder
         */
        public Builder style(java.nio.file.Path reference, double strength) {
            this.styleFile = Objects.requireNonNull(reference, "reference");
            this.styleImage = null;
            this.styleStrength = checkStrength(strength);
            return this;
        }

        private static double checkStrength(double strength) {
            return Bounds.finiteIn("style strength", strength, 0, MAX_STYLE_STRENGTH);
        }

        static java.awt.image.BufferedImage copy(java.awt.image.BufferedImage src) {
            java.awt.image.BufferedImage c = new java.awt.image.BufferedImage(src.getWidth(), src.getHeight(),
                    java.awt.image.BufferedImage.TYPE_INT_ARGB);
            java.awt.Graphics2D g = c.createGraphics();
            try {
                g.drawImage(src, 0, 0, null);
            } finally {
                g.dispose();
            }
            return c;
        }

        /**
         * Stops the cascade after the stage called {@code stage}.
         *
         * @param stage the last stage to run
         * @return this builder
         */
        public Builder untilStage(String stage) {
            this.untilStage = Objects.requireNonNull(stage, "stage");
            return this;
        }

        /**
         * Keeps every stage's samples in the result, not only the final stage's.
         *
         * @param keep whether to keep them
         * @return this builder
         */
        public Builder keepAllStages(boolean keep) {
            this.keepAllStages = keep;
            return this;
        }

        /**
         * Overrides the defaults of the stage called {@code stage}.
         *
         * @param stage   the stage name
         * @param options its overrides
         * @return this builder
         */
        public Builder stage(String stage, StageOptions options) {
            stageOptions.put(Objects.requireNonNull(stage, "stage"), Objects.requireNonNull(options, "options"));
            return this;
        }

        /**
         * The prompt.
         *
         * @param prompt the prompt ("" for an unconditional generation)
         * @return this builder
         */
        public Builder prompt(String prompt) {
            this.prompt = Objects.requireNonNull(prompt, "prompt");
            return this;
        }

        /**
         * The negative prompt: what the unconditional guidance branch is conditioned on. Giving
         * {@code ""} is not quite giving none for every model (see {@link Request#negativePromptGiven()});
         * {@link #noNegativePrompt()} takes a given one back.
         *
         * @param negativePrompt the negative prompt ("" for the empty prompt)
         * @return this builder
         */
        public Builder negativePrompt(String negativePrompt) {
            this.negativePrompt = Objects.requireNonNull(negativePrompt, "negativePrompt");
            this.negativePromptGiven = true;
            return this;
        }

        /**
         * No negative prompt (the default): the model's own unconditional branch.
         *
         * @return this builder
         */
        public Builder noNegativePrompt() {
            this.negativePrompt = "";
            this.negativePromptGiven = false;
            return this;
        }

        /**
         * The seed of image 0; image {@code i} of the batch uses {@code seed + i}.
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * The number of images, in 1..{@link #MAX_COUNT}.
         *
         * @param count in 1..{@link #MAX_COUNT}
         * @return this builder
         * @throws IllegalArgumentException naming the value and the range when it is outside
         */
        public Builder count(int count) {
            this.count = Bounds.intIn("count", count, 1, MAX_COUNT);
            return this;
        }

        /**
         * The sampler of the first stage (later stages: {@link #stage}).
         *
         * @param sampler the sampler
         * @return this builder
         */
        public Builder sampler(Sampler sampler) {
            this.sampler = Objects.requireNonNull(sampler, "sampler");
            return this;
        }

        /**
         * The sampler and its number of steps.
         *
         * @param sampler the sampler of the first stage
         * @param steps   its number of steps, in 1..{@link #MAX_STEPS}
         * @return this builder
         */
        public Builder sampler(Sampler sampler, int steps) {
            return sampler(sampler).steps(steps);
        }

        /**
         * The number of sampler steps of the first stage, in 1..{@link #MAX_STEPS}.
         *
         * @param steps in 1..{@link #MAX_STEPS}
         * @return this builder
         * @throws IllegalArgumentException naming the value and the range when it is outside
         */
        public Builder steps(int steps) {
            this.steps = Bounds.intIn("steps", steps, 1, MAX_STEPS);
            return this;
        }

        /**
         * The noise schedule of the first stage.
         *
         * @param schedule the schedule
         * @return this builder
         */
        public Builder schedule(NoiseSchedule schedule) {
            this.schedule = Objects.requireNonNull(schedule, "schedule");
            return this;
        }

        /**
         * Guidance of the first stage: text scale, rescale, noise interval.
         *
         * @param guidance the guidance
         * @return this builder
         */
        public Builder guidance(Guidance guidance) {
            this.guidance = Objects.requireNonNull(guidance, "guidance");
            return this;
        }

        /**
         * Classifier-free guidance with {@code scale} (see {@link Guidance#of}).
         *
         * @param scale the guidance scale, finite and in [0, {@link Guidance#MAX_SCALE}]
         * @return this builder
         */
        public Builder guidance(double scale) {
            return guidance(Guidance.of(scale));
        }

        /**
         * Standard-normal initial noise for the whole batch; the pipeline scales it by the first sigma.
         * Its length is checked against the model.
         *
         * @param noise {@code count * C * H * W} finite values, row major (copied)
         * @return this builder
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

        /**
         * Noise for stochastic samplers, replacing the seeded per-image noise.
         *
         * @param noiseSource the noise
         * @return this builder
         */
        public Builder noiseSource(NoiseSource noiseSource) {
            this.noiseSource = Objects.requireNonNull(noiseSource, "noiseSource");
            return this;
        }

        /**
         * Explicit conditioning, bypassing the text encoders.
         *
         * @param conditioning for every image (batch 1, repeated) or per image (batch = count)
         * @return this builder
         */
        public Builder conditioning(Conditioning conditioning) {
            this.conditioning = Objects.requireNonNull(conditioning, "conditioning");
            return this;
        }

        /**
         * Explicit conditioning for the unconditional branch of guidance.
         *
         * @param unconditioning the unconditional conditioning
         * @return this builder
         */
        public Builder unconditioning(Conditioning unconditioning) {
            this.unconditioning = Objects.requireNonNull(unconditioning, "unconditioning");
            return this;
        }

        /**
         * Receives a {@link Progress} for every denoiser evaluation, on the generating thread.
         *
         * @param listener the listener; keep it fast
         * @return this builder
         */
        public Builder onProgress(ProgressListener listener) {
            this.progress = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Observes every sampler step: the state {@code x_i} and {@code D(x_i; sigma_i)}, for live
         * previews. The arrays are valid only during the call and must not be modified.
         *
         * @param observer the observer
         * @return this builder
         */
        public Builder onStep(StepCallback observer) {
            this.stepObserver = Objects.requireNonNull(observer, "observer");
            return this;
        }

        /**
         * The token that cancels the generation.
         *
         * @param token the token (a fresh one by default)
         * @return this builder
         */
        public Builder cancellation(CancellationToken token) {
            this.cancellation = Objects.requireNonNull(token, "token");
            return this;
        }

        /**
         * Builds the request.
         *
         * @return the immutable request
         */
        public Request build() {
            return new Request(this);
        }
    }
}
