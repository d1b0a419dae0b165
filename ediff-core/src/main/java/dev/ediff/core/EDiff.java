package dev.ediff.core;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Progress;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.Sampler;
import dev.ediff.api.StageOptions;
import dev.ediff.api.StageResult;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.api.Truncation;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.Resampler;
import dev.ediff.core.random.GaussianStream;
import dev.ediff.core.random.SeededNoise;
import dev.ediff.core.schedule.Schedules;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The entry point: an eDiff-I pipeline. Text encoders (T5, CLIP, used together or either alone)
 * and an optional image encoder (style) condition a cascade of {@link Stage}s, each an ensemble
 * of experts routed by sigma; every stage after the first is a super-resolution stage fed the
 * previous stage's output, upsampled and noise-augmented.
 *
 * <pre>{@code
 * try (EDiff ediff = EDiff.builder(tree, TensorShape.of(3, 32, 32)).build()) {
 *     Generation g = ediff.generate(Request.prompt("a red circle").seed(42)
 *             .sampler(Samplers.heun(), 20).guidance(3.0).build());
 * }
 * }</pre>
 *
 * <p>Thread-safe: several threads may generate at once. Encoded prompts and style embeddings are
 * cached (bounded). {@link #close} waits for running generations, then releases what the pipeline owns.
 */
public final class EDiff implements AutoCloseable {

    /** Minimum side of a style image, in pixels. */
    public static final int MIN_STYLE_SIDE = 16;

    private final String name;
    private final List<Stage> stages;
    private final Map<String, TextEncoder> textEncoders;
    private final ImageEncoder imageEncoder;
    private final List<AutoCloseable> owned;
    private final Cache<String, TextEncoding> textCache;
    private final Cache<String, Tensor> styleCache;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private EDiff(Builder b) {
        this.name = b.name;
        this.stages = List.copyOf(b.stages);
        this.textEncoders = Map.copyOf(b.textEncoders);
        this.imageEncoder = b.imageEncoder;
        this.owned = List.copyOf(b.owned);
        this.textCache = CacheBuilder.newBuilder().maximumSize(b.cacheSize).recordStats().build();
        this.styleCache = CacheBuilder.newBuilder().maximumSize(Math.max(1, b.cacheSize / 8)).build();
    }

    /**
     * Opens the model bundle in {@code dir} with the first {@link ModelLoader} that accepts it
     * (ediff-onnx provides one for ONNX bundles).
     *
     * @throws EDiffException when no loader is on the classpath or none accepts the folder
     */
    public static EDiff open(java.nio.file.Path dir) {
        List<ModelLoader> loaders = loaders();
        for (ModelLoader l : loaders) {
            if (l.accepts(dir)) {
                return l.open(dir);
            }
        }
        throw new EDiffException(loaders.isEmpty()
                ? "no model loader on the classpath: add the ediff-onnx dependency to open " + dir
                : dir + " is not a model bundle any loader accepts (an ONNX bundle has a manifest.json)");
    }

    /**
     * Opens the default model: the bundle a loader finds on the classpath (ediff-examples ships the
     * miniature eDiff-I).
     *
     * @throws EDiffException when there is none
     */
    public static EDiff openDefault() {
        for (ModelLoader l : loaders()) {
            java.util.Optional<EDiff> e = l.openDefault();
            if (e.isPresent()) {
                return e.get();
            }
        }
        throw new EDiffException("no default model on the classpath: add ediff-onnx and a bundle (ediff-examples"
                + " ships one under /dev/ediff/models/default/), or open a bundle folder with EDiff.open(path)");
    }

    private static List<ModelLoader> loaders() {
        List<ModelLoader> list = new ArrayList<>();
        java.util.ServiceLoader.load(ModelLoader.class).forEach(list::add);
        return list;
    }

    /** A builder for a pipeline of {@link Stage}s with encoders. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder for a single-stage pipeline named {@code "base"} over {@code tree}; its
     * {@code default*} methods set that stage's defaults.
     *
     * @param sampleShape the shape of one sample, {@code [1, C, H, W]}
     */
    public static Builder builder(RoutingTree tree, TensorShape sampleShape) {
        Builder b = new Builder();
        b.single = Stage.builder("base", tree, sampleShape);
        return b;
    }

    /** The model's name (for metadata). */
    public String name() {
        return name;
    }

    /** The stages, in order. */
    public List<Stage> stages() {
        return stages;
    }

    /** The first stage's routing tree. */
    public RoutingTree routingTree() {
        return stages.get(0).routingTree();
    }

    /** The first stage's sample shape. */
    public TensorShape sampleShape() {
        return stages.get(0).sampleShape();
    }

    /** The text encoders by role. */
    public Map<String, TextEncoder> textEncoders() {
        return textEncoders;
    }

    /** Number of prompt encodings served from the cache so far. */
    public long textCacheHits() {
        return textCache.stats().hitCount();
    }

    /**
     * Generates {@code request.count()} samples in one batch through the stages.
     *
     * @throws IllegalArgumentException for a request that does not fit this pipeline (the message says why)
     * @throws EDiffException           for a model failure or an unreadable style image
     * @throws CancelledException       when cancelled by the request's token or by interruption
     * @throws IllegalStateException    when the pipeline is closed
     */
    public Generation generate(Request request) {
        Objects.requireNonNull(request, "request");
        ReentrantReadWriteLock.ReadLock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("this EDiff pipeline is closed");
            }
            return run(request);
        } finally {
            lock.unlock();
        }
    }

    /** The text and style conditionings of one request, batch 1, before per-stage filtering. */
    private record Branches(List<Conditioning> conditionings, boolean textGuided, boolean styled,
                            List<Truncation> truncations, List<PaintedTokens> paints) {
    }

    /** A painted phrase with its token columns in the concatenated text-token axis. */
    private record PaintedTokens(dev.ediff.api.Paint paint, List<int[]> columns, int totalTokens) {
    }

    private Generation run(Request request) {
        long start = System.nanoTime();
        int last = lastStage(request);
        for (String s : request.stagesWithOptions()) {
            stageIndex(s);
        }
        int count = request.count();
        BatchLimit.check(count, stages, last);
        long first = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
        long[] seeds = new long[count];
        for (int i = 0; i < count; i++) {
            seeds[i] = first + i;
        }
        Branches branches = conditionings(request);
        List<StageResult> results = new ArrayList<>();
        double[] previous = null;
        Map<String, String> params = parameters(request, first, last);
        for (int k = 0; k <= last; k++) {
            Stage stage = stages.get(k);
            boolean keep = k == last || request.keepAllStages();
            StageResult r = runStage(k, stage, request, seeds, branches, previous, keep, start);
            results.add(r);
            previous = flatten(r.samples());
            if (!keep) {
                results.set(k, new StageResult(r.stage(), List.of(), r.sampler(), r.steps(), r.guidance(), r.sigmas(),
                        r.evaluations(), r.total(), r.modelTime()));
            }
        }
        return new Generation(results, branches.truncations(), params, Duration.ofNanos(System.nanoTime() - start));
    }

    private static double[] flatten(List<Sample> samples) {
        int d = samples.get(0).shape().size();
        double[] x = new double[samples.size() * d];
        for (int b = 0; b < samples.size(); b++) {
            System.arraycopy(samples.get(b).data(), 0, x, b * d, d);
        }
        return x;
    }

    private int lastStage(Request request) {
        return request.untilStage().map(this::stageIndex).orElse(stages.size() - 1);
    }

    private int stageIndex(String stageName) {
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i).name().equals(stageName)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown stage '" + stageName + "'; this model's stages are "
                + stages.stream().map(Stage::name).toList());
    }

    private Branches conditionings(Request request) {
        List<Truncation> truncations = new ArrayList<>();
        Conditioning cond;
        Conditioning uncond;
        if (request.conditioning().isPresent()) {
            cond = request.conditioning().get();
            uncond = request.unconditioning().orElse(Conditioning.NONE);
        } else {
            cond = Conditioning.NONE;
            uncond = Conditioning.NONE;
            for (TextEncoder e : textEncoders.values()) {
                boolean on = switch (e.role()) {
                    case TextEncoder.T5 -> request.t5();
                    case TextEncoder.CLIP -> request.clip();
                    default -> true;
                };
                TextEncoding off = e.off();
                TextEncoding c = on ? encode(e, request.prompt()) : off;
                TextEncoding u = on && !request.negativePrompt().isEmpty() ? encode(e, request.negativePrompt()) : off;
                if (on && c.truncated()) {
                    truncations.add(new Truncation(e.role(), "prompt", c.droppedText()));
                }
                if (u != off && u.truncated()) {
                    truncations.add(new Truncation(e.role(), "negative prompt", u.droppedText()));
                }
                cond = cond.merge(c.conditioning());
                uncond = uncond.merge(u.conditioning());
            }
        }
        List<PaintedTokens> painted = paintedTokens(request);
        boolean textGuided = !cond.equals(uncond);
        if (!request.hasStyle()) {
            if (imageEncoder != null) {
                Conditioning off = Conditioning.of(Conditioning.IMAGE_EMBEDDING, imageEncoder.off());
                cond = cond.merge(off);
                uncond = uncond.merge(off);
            }
            return new Branches(textGuided ? List.of(uncond, cond) : List.of(cond), textGuided, false, truncations,
                    painted);
        }
        if (imageEncoder == null) {
            throw new IllegalArgumentException("this model has no image encoder, so it cannot take a style image");
        }
        Conditioning off = Conditioning.of(Conditioning.IMAGE_EMBEDDING, imageEncoder.off());
        Conditioning styled = cond.merge(Conditioning.of(Conditioning.IMAGE_EMBEDDING, styleEmbedding(request)));
        List<Conditioning> list = textGuided
                ? List.of(uncond.merge(off), cond.merge(off), styled)
                : List.of(cond.merge(off), styled);
        return new Branches(list, textGuided, true, truncations, painted);
    }

    /**
     * The text encoders in the order their tokens are concatenated for the attention bias: T5, then
     * CLIP, then any other role by name.
     */
    private List<TextEncoder> tokenOrder() {
        List<TextEncoder> order = new ArrayList<>(textEncoders.values());
        order.sort(java.util.Comparator.comparing((TextEncoder e) -> switch (e.role()) {
            case TextEncoder.T5 -> "0";
            case TextEncoder.CLIP -> "1";
            default -> "2" + e.role();
        }));
        return order;
    }

    private List<PaintedTokens> paintedTokens(Request request) {
        if (request.paints().isEmpty()) {
            return List.of();
        }
        if (request.conditioning().isPresent() || textEncoders.isEmpty()) {
            throw new IllegalArgumentException("painting words needs the model's text encoders; this request "
                    + (textEncoders.isEmpty() ? "goes to a model without text encoders" : "gives explicit conditioning"));
        }
        List<TextEncoder> order = tokenOrder();
        int total = 0;
        for (TextEncoder e : order) {
            total += e.tokenLength();
        }
        List<PaintedTokens> out = new ArrayList<>();
        for (dev.ediff.api.Paint p : request.paints()) {
            List<int[]> columns = new ArrayList<>();
            int offset = 0;
            for (TextEncoder e : order) {
                boolean on = switch (e.role()) {
                    case TextEncoder.T5 -> request.t5();
                    case TextEncoder.CLIP -> request.clip();
                    default -> true;
                };
                if (on) {
                    dev.ediff.api.PhraseSpan span = e.locate(request.prompt(), p.phrase());
                    columns.add(new int[] {offset + span.start(), offset + span.end()});
                }
                offset += e.tokenLength();
            }
            if (columns.isEmpty()) {
                throw new IllegalArgumentException("painting '" + p.phrase() + "' needs a text encoder switched on");
            }
            out.add(new PaintedTokens(p, columns, total));
        }
        return out;
    }

    /**
     * The paint-with-words bias at one stage's resolution: {@code [1, H*W, tokens]}, the sum over
     * painted phrases of {@code weight * mask(pixel)} on the phrase's token columns.
     */
    private static Tensor attentionBias(List<PaintedTokens> paints, Stage stage) {
        int h = stage.sampleShape().height();
        int w = stage.sampleShape().width();
        int tokens = paints.get(0).totalTokens();
        float[] bias = new float[h * w * tokens];
        for (PaintedTokens pt : paints) {
            float[] mask = pt.paint().mask().rasterize(w, h);
            double sum = 0;
            for (float v : mask) {
                sum += v;
            }
            if (sum == 0) {
                throw new IllegalArgumentException("the mask painted for '" + pt.paint().phrase() + "' is empty at the "
                        + w + "x" + h + " resolution of stage '" + stage.name() + "'");
            }
            float weight = (float) pt.paint().weight();
            for (int p = 0; p < h * w; p++) {
                if (mask[p] == 0) {
                    continue;
                }
                for (int[] c : pt.columns()) {
                    for (int t = c[0]; t < c[1]; t++) {
                        bias[p * tokens + t] += weight * mask[p];
                    }
                }
            }
        }
        return Tensor.of(bias, 1, (long) h * w, tokens);
    }

    private TextEncoding encode(TextEncoder e, String text) {
        try {
            return textCache.get(e.role() + '\u0000' + text, () -> e.encode(text));
        } catch (ExecutionException | com.google.common.util.concurrent.UncheckedExecutionException x) {
            Throwable cause = x.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new EDiffException("text encoder '" + e.role() + "' failed: " + cause, cause);
        }
    }

    private Tensor styleEmbedding(Request request) {
        BufferedImage img = request.styleFile().map(p -> Images.read(p, MIN_STYLE_SIDE))
                .orElseGet(() -> request.styleImage().orElseThrow());
        Images.checkSize("style image", img.getWidth(), img.getHeight(), MIN_STYLE_SIDE);
        String key = digest(img);
        try {
            return styleCache.get(key, () -> imageEncoder.encode(img));
        } catch (ExecutionException | com.google.common.util.concurrent.UncheckedExecutionException x) {
            if (x.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new EDiffException("image encoder failed: " + x.getCause(), x.getCause());
        }
    }

    private static String digest(BufferedImage img) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(4 * img.getWidth() + 8);
            buf.putInt(img.getWidth()).putInt(img.getHeight());
            md.update(buf.array(), 0, 8);
            for (int y = 0; y < img.getHeight(); y++) {
                buf.clear();
                for (int x = 0; x < img.getWidth(); x++) {
                    buf.putInt(img.getRGB(x, y));
                }
                md.update(buf.array(), 0, buf.position());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private StageResult runStage(int k, Stage stage, Request request, long[] seeds, Branches branches,
                                 double[] previous, boolean keep, long start) {
        long stageStart = System.nanoTime();
        StageOptions opts = request.stageOptions(stage.name()).orElse(StageOptions.defaults());
        Sampler sampler = opts.sampler().orElse(k == 0 ? request.sampler().orElse(stage.defaultSampler()) : stage.defaultSampler());
        int steps = opts.steps().orElse(k == 0 ? request.steps().orElse(stage.defaultSteps()) : stage.defaultSteps());
        Guidance guidance = opts.guidance().orElse(k == 0 ? request.guidance().orElse(stage.defaultGuidance())
                : stage.defaultGuidance());
        double[] sigmas = Schedules.validate((k == 0 ? request.schedule().orElse(stage.schedule()) : stage.schedule())
                .sigmas(steps).clone());
        if (sigmas.length != steps + 1) {
            throw new IllegalArgumentException("schedule returned " + sigmas.length + " sigmas for " + steps
                    + " steps; expected " + (steps + 1));
        }
        int count = seeds.length;
        TensorShape sampleShape = stage.sampleShape();
        TensorShape shape = sampleShape.withBatch(count);
        int d = sampleShape.sampleSize();
        double[] x = k == 0 && request.initialNoise().isPresent()
                ? request.initialNoise().get()
                : SeededNoise.initial(seeds, d, k);
        if (x.length != shape.size()) {
            throw new IllegalArgumentException("initial noise has " + x.length + " values; this model needs "
                    + shape.size() + " for shape " + shape + " (count x C x H x W)");
        }
        for (int i = 0; i < x.length; i++) {
            x[i] *= sigmas[0];
        }

        List<Conditioning> conds = new ArrayList<>();
        // A later stage without an image-embedding input (an SR stage conditioned on text and the
        // low-res image only) gets the style through its input image and runs without the style branch.
        boolean styled = branches.styled() && stage.accepts(Conditioning.IMAGE_EMBEDDING);
        if (branches.styled() && !styled && k == 0) {
            throw new IllegalArgumentException("stage '" + stage.name() + "' takes no image embedding, so it cannot use a style image");
        }
        List<Conditioning> stageBranches = branches.styled() && !styled
                ? branches.conditionings().subList(0, branches.conditionings().size() - 1) : branches.conditionings();
        Conditioning lowRes = k > 0 && stage.isSuperResolution()
                ? lowResolution(stage, opts, previous, stages.get(k - 1).sampleShape(), seeds, k) : Conditioning.NONE;
        Tensor bias = null;
        if (!branches.paints().isEmpty()) {
            if (stage.accepts(Conditioning.ATTENTION_BIAS) && stage.roles().isPresent()) {
                bias = attentionBias(branches.paints(), stage);
            } else if (k == 0) {
                throw new IllegalArgumentException("stage '" + stage.name() + "' has no attention-bias input, so it"
                        + " cannot paint words (its experts take " + stage.roles().map(Object::toString)
                        .orElse("undeclared inputs") + ")");
            }
        }
        int branchIndex = 0;
        for (Conditioning c : stageBranches) {
            Conditioning full = c;
            if (bias != null) {
                // The unconditional branch gets a zero bias: the same roles keep the branches batchable.
                boolean unconditional = branches.textGuided() && branchIndex == 0;
                full = full.merge(Conditioning.of(Conditioning.ATTENTION_BIAS,
                        unconditional ? Tensor.filled(0, bias.shape()) : bias));
            }
            branchIndex++;
            if (stage.roles().isPresent()) {
                full = full.retain(stage.roles().get());
            }
            full = fitBatch(full, count).merge(lowRes);
            conds.add(full);
        }
        double[] scales;
        if (styled) {
            scales = branches.textGuided() ? new double[] {guidance.scale(), request.styleStrength()}
                    : new double[] {request.styleStrength()};
        } else {
            scales = branches.textGuided() && guidance.scale() != 1.0 ? new double[] {guidance.scale()} : new double[0];
            if (scales.length == 0 && conds.size() == 2) {
                conds = List.of(conds.get(1));
            }
        }
        NoiseSource noise = k == 0 && request.noiseSource().isPresent()
                ? request.noiseSource().get() : SeededNoise.sampler(seeds, d, k);
        CancellationToken token = request.cancellation();
        try (GuidedDenoiser model = new GuidedDenoiser(stage.routingTree(), shape, conds, scales, guidance, token);
             AutoCloseable ignored = token.onCancel(model::abortRunning)) {
            sampler.sample(model, x, sigmas, noise, (i, sigma, xi, denoised) -> {
                request.stepObserver().onStep(i, sigma, xi, denoised);
                request.progress().onProgress(new Progress(stage.name(), i, steps, model.evaluations().size(), sigma,
                        model.lastExpert(), Duration.ofNanos(System.nanoTime() - start)));
            });
            if (Thread.currentThread().isInterrupted()) {
                throw new CancelledException("generation interrupted");
            }
            List<Sample> samples = new ArrayList<>(count);
            for (int b = 0; b < count; b++) {
                samples.add(new Sample(seeds[b], sampleShape, Arrays.copyOfRange(x, b * d, (b + 1) * d)));
            }
            return new StageResult(stage.name(), samples, sampler.name(), steps, guidance, sigmas, model.evaluations(),
                    Duration.ofNanos(System.nanoTime() - stageStart), Duration.ofNanos(model.modelNanos()));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("unexpected failure closing a cancellation hook", e);
        }
    }

    /** The previous stage's output upsampled to this stage and noised to the augmentation sigma, per image. */
    private static Conditioning lowResolution(Stage stage, StageOptions opts, double[] previous, TensorShape prevShape,
                                              long[] seeds, int k) {
        TensorShape s = stage.sampleShape();
        if (prevShape.channels() != s.channels()) {
            throw new EDiffException("stage '" + stage.name() + "' has " + s.channels()
                    + " channels but the stage before it produces " + prevShape.channels());
        }
        double sigmaAug = opts.augmentationSigma().orElse(stage.augmentationSigma().orElseThrow());
        int d = s.sampleSize();
        int dPrev = prevShape.sampleSize();
        float[] low = new float[seeds.length * d];
        for (int b = 0; b < seeds.length; b++) {
            double[] up = Resampler.resize(Arrays.copyOfRange(previous, b * dPrev, (b + 1) * dPrev), s.channels(),
                    prevShape.height(), prevShape.width(), s.height(), s.width());
            GaussianStream z = SeededNoise.stream(seeds[b], k, SeededNoise.AUGMENTATION);
            for (int i = 0; i < d; i++) {
                low[b * d + i] = (float) (up[i] + sigmaAug * z.next());
            }
        }
        float[] aug = new float[seeds.length];
        Arrays.fill(aug, (float) sigmaAug);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(Conditioning.LOW_RES, Tensor.of(low, seeds.length, s.channels(), s.height(), s.width()));
        m.put(Conditioning.AUGMENTATION_SIGMA, Tensor.of(aug, seeds.length));
        return Conditioning.of(m);
    }

    private static Conditioning fitBatch(Conditioning c, int count) {
        if (c.isEmpty() || c.batch() == count) {
            return c;
        }
        if (c.batch() == 1) {
            return c.repeatBatch(count);
        }
        throw new IllegalArgumentException("conditioning has batch " + c.batch() + "; it must be 1 (shared) or "
                + count + " (one per image)");
    }

    private Map<String, String> parameters(Request r, long firstSeed, int last) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("prompt", r.prompt());
        if (!r.negativePrompt().isEmpty()) {
            p.put("negative_prompt", r.negativePrompt());
        }
        p.put("seed", Long.toString(firstSeed));
        p.put("count", Integer.toString(r.count()));
        Stage base = stages.get(0);
        p.put("sampler", r.sampler().orElse(base.defaultSampler()).name());
        p.put("steps", Integer.toString(r.steps().orElse(base.defaultSteps())));
        p.put("guidance", Double.toString(r.guidance().orElse(base.defaultGuidance()).scale()));
        if (!textEncoders.isEmpty()) {
            p.put("t5", Boolean.toString(r.t5()));
            p.put("clip", Boolean.toString(r.clip()));
        }
        if (r.hasStyle()) {
            p.put("style_strength", Double.toString(r.styleStrength()));
            r.styleFile().ifPresent(f -> p.put("style_image", f.getFileName().toString()));
        }
        p.put("stages", String.join(",", stages.subList(0, last + 1).stream().map(Stage::name).toList()));
        p.put("model", name);
        p.put("software", "ediff-java");
        return p;
    }

    /** Refuses new generations, waits for running ones, then closes what the pipeline owns. Idempotent. */
    @Override
    public void close() {
        ReentrantReadWriteLock.WriteLock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            RuntimeException failure = null;
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    if (failure == null) {
                        failure = new IllegalStateException("closing " + owned.get(i) + " failed", e);
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Builds an {@link EDiff}. */
    public static final class Builder {
        private String name = "custom";
        private final List<Stage> stages = new ArrayList<>();
        private final Map<String, TextEncoder> textEncoders = new LinkedHashMap<>();
        private ImageEncoder imageEncoder;
        private final List<AutoCloseable> owned = new ArrayList<>();
        private Stage.Builder single;
        private int cacheSize = 256;

        private Builder() {
        }

        private Stage.Builder single() {
            if (single == null) {
                throw new IllegalStateException("default* methods configure the single stage of EDiff.builder(tree, shape);"
                        + " for a cascade, set defaults on each Stage.builder");
            }
            return single;
        }

        /** The model's name, recorded in metadata. */
        public Builder name(String modelName) {
            this.name = Objects.requireNonNull(modelName, "name");
            return this;
        }

        /** The single stage's default sampler and steps (default: Heun, 20). */
        public Builder defaultSampler(Sampler sampler, int steps) {
            single().defaultSampler(sampler, steps);
            return this;
        }

        /** The single stage's schedule (default: EDM's Karras schedule). */
        public Builder defaultSchedule(dev.ediff.api.NoiseSchedule schedule) {
            single().schedule(schedule);
            return this;
        }

        /** The single stage's default guidance (default: none). */
        public Builder defaultGuidance(Guidance guidance) {
            single().defaultGuidance(guidance);
            return this;
        }

        /** Appends a stage; stages after the first must be super-resolution stages. */
        public Builder stage(Stage stage) {
            stages.add(Objects.requireNonNull(stage, "stage"));
            return this;
        }

        /** Adds a text encoder; at most one per role. */
        public Builder textEncoder(TextEncoder encoder) {
            Objects.requireNonNull(encoder, "encoder");
            if (textEncoders.putIfAbsent(encoder.role(), encoder) != null) {
                throw new IllegalArgumentException("two text encoders with role '" + encoder.role() + "'");
            }
            return this;
        }

        /** Sets the image (style) encoder. */
        public Builder imageEncoder(ImageEncoder encoder) {
            this.imageEncoder = Objects.requireNonNull(encoder, "encoder");
            return this;
        }

        /** How many prompt encodings to cache (default 256; style embeddings get an eighth). */
        public Builder cacheSize(int entries) {
            if (entries < 1) {
                throw new IllegalArgumentException("cache size must be >= 1, got " + entries);
            }
            this.cacheSize = entries;
            return this;
        }

        /** A resource the pipeline closes when it is closed (in reverse order of adding). */
        public Builder owning(AutoCloseable resource) {
            owned.add(Objects.requireNonNull(resource, "resource"));
            return this;
        }

        /**
         * @throws IllegalArgumentException with no stage, duplicate stage names, or a later stage
         *                                  that is not a super-resolution stage
         */
        public EDiff build() {
            if (single != null) {
                if (!stages.isEmpty()) {
                    throw new IllegalArgumentException("EDiff.builder(tree, shape) makes one stage; do not add others");
                }
                stages.add(single.build());
            }
            if (stages.isEmpty()) {
                throw new IllegalArgumentException("a pipeline needs at least one stage");
            }
            java.util.Set<String> names = new java.util.HashSet<>();
            for (int i = 0; i < stages.size(); i++) {
                Stage s = stages.get(i);
                if (!names.add(s.name())) {
                    throw new IllegalArgumentException("two stages are named '" + s.name() + "'");
                }
                if (i > 0 && !s.isSuperResolution()) {
                    throw new IllegalArgumentException("stage '" + s.name() + "' follows another stage, so it must be a"
                            + " super-resolution stage (Stage.Builder.superResolution)");
                }
            }
            EDiff e = new EDiff(this);
            if (single != null) {
                stages.clear();
            }
            return e;
        }
    }
}
