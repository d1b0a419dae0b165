package dev.ediff.core;

import dev.ediff.api.CancelledException;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.StageResult;
import dev.ediff.api.TensorShape;
import dev.ediff.api.TextEncoder;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.Function;
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
    private final Conditioner conditioner;
    private final List<SharedResources> owned;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final Workspace workspace = new Workspace(); // the generations' working arrays, reused
    private volatile boolean closed;

    EDiff(String name, List<Stage> stages, Conditioner conditioner, List<SharedResources> owned) {
        this.name = name;
        this.stages = List.copyOf(stages);
        this.conditioner = conditioner;
        this.owned = List.copyOf(owned);
    }

    /**
     * Opens the model bundle in {@code dir} on the CPU; see {@link #open(Path, LoadOptions)}.
     *
     * @param dir the bundle folder
     * @return the pipeline
     */
    public static EDiff open(Path dir) {
        return open(dir, LoadOptions.DEFAULT);
    }

    /**
     * Opens the model bundle in {@code dir} with the first {@link ModelLoader} that accepts it
     * (ediff-onnx provides one for ONNX bundles).
     *
     * @param dir     the bundle folder
     * @param options device (CPU or CUDA), threads, and whether a GPU that cannot be used falls back to the CPU
     * @return the pipeline
     * @throws EDiffException when no loader is on the classpath or none accepts the folder, or the
     *                        device cannot be used
     */
    public static EDiff open(Path dir, LoadOptions options) {
        Objects.requireNonNull(options, "options");
        return load(l -> l.accepts(dir) ? Optional.of(l.open(dir, options)) : Optional.empty(), loaders -> loaders
                ? dir + " is not a model bundle any loader accepts (an ONNX bundle has a manifest.json, a diffusers folder a model_index.json)"
                : "no model loader on the classpath: add the ediff-onnx dependency to open " + dir);
    }

    /**
     * Opens a base model and its refiner on the CPU; see {@link #open(Path, Path, LoadOptions)}.
     *
     * @param base    the base model's folder
     * @param refiner the refiner's folder
     * @return the pipeline
     */
    public static EDiff open(Path base, Path refiner) {
        return open(base, refiner, LoadOptions.DEFAULT);
    }

    /**
     * Opens a base model and its refiner as one pipeline whose routing tree sends high noise levels
     * to the base and low ones to the refiner (ediff-onnx: an SDXL base and refiner as diffusers
     * folders, split where diffusers' {@code denoising_end} 0.8 splits them).
     *
     * @param base    the base model's folder
     * @param refiner the refiner's folder
     * @param options device, threads, CPU fallback
     * @return the pipeline
     * @throws EDiffException when no loader understands the pair, or the models cannot run together
     */
    public static EDiff open(Path base, Path refiner, LoadOptions options) {
        Objects.requireNonNull(options, "options");
        return load(l -> l.openWithRefiner(base, refiner, options), loaders -> loaders
                ? base + " + " + refiner + " is not a base and refiner pair any loader accepts (expected an SDXL base"
                + " and an SDXL refiner as diffusers folders with model_index.json)"
                : "no model loader on the classpath: add the ediff-onnx dependency to open " + base);
    }

    /**
     * Opens the default model on the CPU; see {@link #openDefault(LoadOptions)}.
     *
     * @return the pipeline
     */
    public static EDiff openDefault() {
        return openDefault(LoadOptions.DEFAULT);
    }

    /**
     * Opens the default model: the bundle a loader finds on the classpath (the ediff-model-mini
     * artifact holds the miniature eDiff-I).
     *
     * @param options device (CPU or CUDA), threads, and whether a GPU that cannot be used falls back to the CPU
     * @return the pipeline
     * @throws EDiffException when there is none, or the device cannot be used
     */
    public static EDiff openDefault(LoadOptions options) {
        Objects.requireNonNull(options, "options");
        return load(l -> l.openDefault(options), loaders -> "no default model on the classpath: add the dependencies"
                + " dev.ediff:ediff-onnx and dev.ediff:ediff-model-mini (the miniature eDiff-I), or open a bundle"
                + " folder with EDiff.open(path)");
    }

    private static EDiff load(Function<ModelLoader, Optional<EDiff>> attempt, Function<Boolean, String> failure) {
        List<ModelLoader> loaders = ServiceLoader.load(ModelLoader.class).stream().map(ServiceLoader.Provider::get).toList();
        return loaders.stream().map(attempt).flatMap(Optional::stream).findFirst()
                .orElseThrow(() -> new EDiffException(failure.apply(!loaders.isEmpty())));
    }

    /** {@return a builder for a pipeline of {@link Stage}s with encoders} */
    public static EDiffBuilder builder() {
        return new EDiffBuilder();
    }

    /**
     * A builder for a single-stage pipeline named {@code "base"} over {@code tree}; its
     * {@code default*} methods set that stage's defaults.
     *
     * @param tree        the stage's experts
     * @param sampleShape the shape of one sample, {@code [1, C, H, W]}
     * @return a builder of one stage
     */
    public static EDiffBuilder builder(RoutingTree tree, TensorShape sampleShape) {
        return new EDiffBuilder(Stage.builder("base", tree, sampleShape));
    }

    /** {@return the model's name (for metadata)} */
    public String name() {
        return name;
    }

    /** {@return the stages, in order} */
    public List<Stage> stages() {
        return stages;
    }

    /** {@return the first stage's routing tree} */
    public RoutingTree routingTree() {
        return stages.get(0).routingTree();
    }

    /** {@return the first stage's sample shape} */
    public TensorShape sampleShape() {
        return stages.get(0).sampleShape();
    }

    /**
     * A builder holding this pipeline's parts (stages, encoders, name, cache size) to derive another
     * pipeline from the models loaded here, e.g. with one expert replaced
     * ({@link EDiffBuilder#replaceExpert}). The pipelines share what is loaded: the models close
     * when the last pipeline using them is closed.
     *
     * @return a builder; its {@code build()} may be called while this pipeline is open
     * @throws IllegalStateException when this pipeline is closed
     */
    public EDiffBuilder toBuilder() {
        if (closed) {
            throw new IllegalStateException("this EDiff pipeline is closed");
        }
        return new EDiffBuilder(name, stages, conditioner, owned);
    }

    /** {@return the image (style) encoder, if the model has one} */
    public Optional<ImageEncoder> imageEncoder() {
        return Optional.ofNullable(conditioner.imageEncoder());
    }

    /** {@return the text encoders by role} */
    public Map<String, TextEncoder> textEncoders() {
        return conditioner.textEncoders();
    }

    /**
     * {@return the model's prompt layout, if it declares one}: prompts naming two of its objects are
     * encoded as one phrase per object with its cell, unless the request switches it off
     * ({@link Request.Builder#layout(boolean)})
     */
    public Optional<dev.ediff.core.text.PromptLayout> layout() {
        return Optional.ofNullable(conditioner.layout());
    }

    /** {@return the number of prompt encodings served from the cache so far} */
    public long textCacheHits() {
        return conditioner.textCacheHits();
    }

    /**
     * Generates {@code request.count()} samples in one batch through the stages.
     *
     * @param request what to generate
     * @return the samples and what every stage ran
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

    private Generation run(Request request) {
        List<GenerationScope> scopes = new ArrayList<>();
        owned.forEach(r -> scopes.addAll(r.scopes()));
        int begun = 0;
        Generation result;
        try {
            for (GenerationScope s : scopes) {
                s.begin();
                begun++;
            }
            result = runStages(request);
        } catch (RuntimeException | Error e) {
            endScopes(scopes, begun, e);
            throw e;
        }
        endScopes(scopes, begun, null);
        return result;
    }

    /** Ends the first {@code begun} scopes in reverse; failures are added to {@code failure}, or thrown. */
    private static void endScopes(List<GenerationScope> scopes, int begun, Throwable failure) {
        RuntimeException own = null;
        for (int i = begun - 1; i >= 0; i--) {
            try {
                scopes.get(i).end();
            } catch (RuntimeException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else if (own == null) {
                    own = e;
                } else {
                    own.addSuppressed(e);
                }
            }
        }
        if (own != null) {
            throw own;
        }
    }

    private Generation runStages(Request request) {
        long start = System.nanoTime();
        GenerationRecord plan = GenerationRecord.plan(stages, request);
        BatchLimit.check(request.count(), stages, plan.stages().size() - 1);
        Conditioner.Branches branches = conditioner.branches(request);
        PaintWithWords paint = PaintWithWords.locate(request, conditioner);
        List<StageResult> results = new ArrayList<>();
        List<Sample> previous = List.of();
        int last = plan.stages().size() - 1;
        for (int k = 0; k <= last; k++) {
            StageResult r = new StageRunner(stages, k, workspace).run(plan.stages().get(k), request, plan.seeds(), branches, paint,
                    previous, start);
            previous = r.samples();
            boolean keep = k == last || request.keepAllStages();
            results.add(keep ? r : new StageResult(r.stage(), List.of(), r.sampler(), r.steps(), r.guidance(),
                    r.sigmas(), r.evaluations(), r.total(), r.modelTime()));
        }
        Map<String, String> params = GenerationParameters.write(name, plan, !conditioner.textEncoders().isEmpty(),
                conditioner.layout() != null, branches.layoutPhrases());
        return new Generation(results, branches.truncations(), params, Duration.ofNanos(System.nanoTime() - start),
                branches.layoutPhrases());
    }

    /**
     * Refuses new generations, waits for running ones, then releases what the pipeline owns: its
     * models close unless a pipeline derived with {@link #toBuilder()} still uses them. Idempotent.
     */
    @Override
    public void close() {
        ReentrantReadWriteLock.WriteLock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            workspace.clear();
            SharedResources.releaseAll(owned);
        } finally {
            lock.unlock();
        }
    }
}
