package dev.ediff.onnx.bundle;

import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.ForwardingExpert;
import dev.ediff.api.Guidance;
import dev.ediff.api.ImageEncoder;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.EDiffBuilder;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.Stage;
import dev.ediff.core.model.Parameterization;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.core.text.Tokenizers;
import dev.ediff.onnx.ExpertContract;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.OnnxImageEncoder;
import dev.ediff.onnx.OnnxTextEncoder;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.Residency;
import dev.ediff.onnx.internal.GraphCache;
import dev.ediff.onnx.internal.ModelAccess;
import dev.ediff.onnx.internal.SessionOpener;
import dev.ediff.onnx.internal.ZeroInputCopy;
import dev.ediff.onnx.rewrite.ZeroInputRewrite;
import dev.ediff.api.MemoryMode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Opens a model bundle (a folder, or a folder on the classpath, holding {@code manifest.json} and
 * ONNX files; format in {@code ediff-onnx/BUNDLE_FORMAT.md}) as an {@link EDiff} pipeline.
 *
 * <p>Everything is validated when the bundle opens: each file exists and stays inside the bundle
 * (no absolute paths, {@code ..}, escaping symbolic links, or external-data references leaving it),
 * each tensor the manifest names exists with the declared rank and type, the experts' intervals
 * cover the stage's sigma range, and embedding widths agree between encoders and experts. A failure
 * is a {@link BundleException} naming the file, the manifest field and the fix, and every session
 * opened before it is closed again.
 *
 * <p>Opening is cancelled by interrupting the opening thread: the model being loaded finishes (ONNX
 * Runtime cannot stop a session half-built), every session opened so far is closed, and a
 * {@link CancelledException} is thrown with the thread's interrupt flag kept set.
 */
public final class ModelBundle {

    /** The classpath folder of the default bundle. */
    public static final String DEFAULT_CLASSPATH_ROOT = "dev/ediff/models/default";

    private ModelBundle() {
    }

    /**
     * Opens the bundle in {@code dir} on the CPU.
     *
     * @param dir the bundle folder
     * @return the pipeline; the caller closes it
     */
    public static EDiff open(Path dir) {
        return open(dir, SessionConfig.DEFAULT);
    }

    /**
     * Opens the bundle in {@code dir} with the given session configuration (e.g. CUDA).
     *
     * @param dir    the bundle folder
     * @param config how to run the sessions
     * @return the pipeline; the caller closes it
     */
    public static EDiff open(Path dir, SessionConfig config) {
        return open(dir, config, MemoryMode.RESIDENT);
    }

    /**
     * Opens the bundle in {@code dir} with the given session configuration and memory mode:
     * {@link MemoryMode#LAZY} loads the text encoders when a prompt is encoded and each expert at
     * the first noise level of its interval, and releases them as a generation passes them (see
     * {@link dev.ediff.onnx.Residency}).
     *
     * @param dir    the bundle folder
     * @param config how to run the sessions
     * @param memory when the models are resident
     * @return the pipeline; the caller closes it
     */
    public static EDiff open(Path dir, SessionConfig config, MemoryMode memory) {
        if (!Files.isDirectory(dir)) {
            throw new BundleException(dir + " is not a folder; a bundle is a folder holding " + Manifest.FILE);
        }
        return open(new BundleSource.Folder(dir), config, true, Residency.of(memory));
    }

    /**
     * Opens a bundle packaged on the classpath under {@code root} (e.g. {@value #DEFAULT_CLASSPATH_ROOT}).
     *
     * @param root   the classpath folder holding {@code manifest.json}
     * @param config how to run the sessions
     * @return the pipeline; the caller closes it
     */
    public static EDiff openClasspath(String root, SessionConfig config) {
        return openClasspath(root, config, MemoryMode.RESIDENT);
    }

    /**
     * As {@link #openClasspath(String, SessionConfig)} with a memory mode (see
     * {@link #open(Path, SessionConfig, MemoryMode)}; a classpath model's bytes stay on the heap
     * while its session is released, to load it again).
     *
     * @param root   the classpath folder holding {@code manifest.json}
     * @param config how to run the sessions
     * @param memory when the models are resident
     * @return the pipeline; the caller closes it
     */
    public static EDiff openClasspath(String root, SessionConfig config, MemoryMode memory) {
        return openClasspath(root, config, Residency.of(memory));
    }

    /** As {@link #openClasspath(String, SessionConfig, MemoryMode)} with the given residency (owned by the pipeline). */
    static EDiff openClasspath(String root, SessionConfig config, Residency residency) {
        return open(new BundleSource.Classpath(Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : ModelBundle.class.getClassLoader(), root), config, true,
                residency);
    }

    /**
     * Reads and checks the manifest of the bundle in {@code dir} without opening any model.
     *
     * @param dir the bundle folder
     * @return the manifest
     */
    public static Manifest manifest(Path dir) {
        BundleSource src = new BundleSource.Folder(dir);
        return Manifest.parse(src.read(Manifest.FILE, "manifest"), src.describe() + "/" + Manifest.FILE);
    }

    /** {@return the manifest of the default classpath bundle, read and checked, if there is one} */
    public static Optional<Manifest> defaultManifest() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : ModelBundle.class.getClassLoader();
        if (cl.getResource(DEFAULT_CLASSPATH_ROOT + "/" + Manifest.FILE) == null) {
            return Optional.empty();
        }
        BundleSource src = new BundleSource.Classpath(cl, DEFAULT_CLASSPATH_ROOT);
        return Optional.of(Manifest.parse(src.read(Manifest.FILE, "manifest"), src.describe() + "/" + Manifest.FILE));
    }

    /**
     * Opens one tokenizer of a bundle as opening the whole bundle does (checked against the
     * manifest's digest; from the caches when they hold it), for measuring that part alone.
     *
     * @param dir      the bundle folder, or null for the default classpath bundle
     * @param manifest the bundle's manifest
     * @param file     the tokenizer file, as a text encoder's {@code tokenizer} names it
     * @return the tokenizer
     */
    public static Tokenizer tokenizer(Path dir, Manifest manifest, String file) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : ModelBundle.class.getClassLoader();
        BundleSource src = dir != null ? new BundleSource.Folder(dir) : new BundleSource.Classpath(cl, DEFAULT_CLASSPATH_ROOT);
        return tokenizer(src, manifest, file, "tokenizer");
    }

    /**
     * Checks the bundle in {@code dir} as thoroughly as generating would, and more: verifies every
     * file that has a {@code sha256} digest in the manifest, opens every model (with every check of
     * {@link #open(Path)}), then makes one image with the stages' default sampler and steps (so that
     * every expert is run), so that whatever a generation checks (resolution and fixed batch of the
     * graphs, conditioning shapes) is checked too.
     * This is {@code ediff info --check}.
     *
     * @param dir the bundle folder
     * @return a one-line summary of what was checked
     * @throws BundleException naming the file and what is wrong
     */
    public static String check(Path dir) {
        return check(dir, SessionConfig.DEFAULT);
    }

    /**
     * Like {@link #check(Path)} with the models opened as {@code config} says (provider, threads),
     * so that a device that cannot be used fails the check as it would fail a generation.
     *
     * @param dir    the bundle folder
     * @param config how to open the models
     * @return a one-line summary of what was checked
     * @throws BundleException naming the file and what is wrong
     */
    public static String check(Path dir, SessionConfig config) {
        if (!Files.isDirectory(dir)) {
            throw new BundleException(dir + " is not a folder; a bundle is a folder holding " + Manifest.FILE);
        }
        return check(new BundleSource.Folder(dir), config);
    }

    /**
     * Like {@link #check(Path)} for the default bundle on the classpath.
     *
     * @return a one-line summary of what was checked
     */
    public static String checkDefault() {
        return checkDefault(SessionConfig.DEFAULT);
    }

    /**
     * Like {@link #check(Path, SessionConfig)} for the default bundle on the classpath.
     *
     * @param config how to open the models
     * @return a one-line summary of what was checked
     */
    public static String checkDefault(SessionConfig config) {
        return check(new BundleSource.Classpath(Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : ModelBundle.class.getClassLoader(),
                DEFAULT_CLASSPATH_ROOT), config);
    }

    private static String check(BundleSource src, SessionConfig config) {
        String where = src.describe() + "/" + Manifest.FILE;
        Manifest m = Manifest.parse(src.read(Manifest.FILE, "manifest"), where);
        for (String file : m.sha256().keySet()) {
            String field = "sha256[\"" + file + "\"]";
            Optional<Path> path = src instanceof BundleSource.Folder ? src.path(file, field) : Optional.empty();
            if (path.isPresent()) {
                BundleDigests.check(m, src.describe(), file, path.get());
            } else {
                BundleDigests.check(m, src.describe(), file, src.read(file, field));
            }
        }
        // The image encoder opens now rather than on a first style image, so that it is checked too.
        try (EDiff ediff = open(src, config, false)) {
            // The stages' default steps: fewer could leave an expert's noise interval unvisited, and so unchecked.
            Request trial = Request.prompt("a check").seed(0).count(1).build();
            try {
                ediff.generate(trial);
            } catch (CancelledException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new BundleException(src.describe() + ": the bundle opens, but generating one image with the"
                        + " stages' defaults fails: " + e.getMessage(), e);
            }
            return "every model opened and matches the manifest, " + m.sha256().size() + " file(s) matched their sha256"
                    + " digest, one image was generated through " + ediff.stages().size() + " stage(s)";
        }
    }

    static EDiff open(BundleSource src, SessionConfig config) {
        return open(src, config, true);
    }

    /** With {@code lazyImageEncoder} false the image encoder's session opens here, as every other model's. */
    static EDiff open(BundleSource src, SessionConfig config, boolean lazyImageEncoder) {
        return open(src, config, lazyImageEncoder, Residency.of(MemoryMode.RESIDENT));
    }

    /**
     * As {@link #open(BundleSource, SessionConfig, boolean)}, the sessions under {@code residency} (owned by the pipeline).
     *
     * <p>Each model's file work (reading and verifying the file, parsing its tokenizer, creating the
     * ONNX Runtime session) starts at once on a small pool ({@link OpenSteps}); this thread takes
     * the results in the bundle's order and runs the checks between models as it goes, so the first
     * error met is the one a one-by-one open would report, and on any failure or interrupt every
     * session already made, or still being made, is closed before the exception leaves.
     */
    static EDiff open(BundleSource src, SessionConfig config, boolean lazyImageEncoder, Residency residency) {
        String where = src.describe() + "/" + Manifest.FILE;
        OpenSteps steps = new OpenSteps(src.describe());
        // ONNX Runtime's native library loads on the pool while this thread reads the manifest (the
        // JSON reader's start-up); a failure here is met again, and reported, by the first session.
        steps.submit(() -> {
            NativeLibrary.environment();
            return Boolean.TRUE;
        }, loaded -> { });
        Manifest m;
        try {
            m = Manifest.parse(src.read(Manifest.FILE, "manifest"), where);
        } catch (RuntimeException e) {
            steps.abandon(e);
            throw e;
        }
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            if (Thread.currentThread().isInterrupted()) {
                throw new CancelledException("opening " + src.describe() + " was interrupted before its first model");
            }
            // 1. Every model's file work starts now, in the bundle's order.
            List<OpenSteps.Step<Loaded<OnnxTextEncoder>>> encoderSteps = new ArrayList<>();
            for (int i = 0; i < m.textEncoders().size(); i++) {
                int index = i;
                encoderSteps.add(steps.submit(() -> textEncoder(src, where, m, index, config, residency), Loaded::close));
            }
            Optional<Manifest.ImageEncoderSpec> ie = m.imageEncoder();
            OnnxImageEncoder.Config imageConfig = ie.map(s -> new OnnxImageEncoder.Config(s.input(), s.output(), s.size(),
                    s.mean(), s.std(), s.dim())).orElse(null);
            Supplier<OnnxImageEncoder> openImageEncoder = ie.<Supplier<OnnxImageEncoder>>map(s -> () ->
                    withContext(where, "image_encoder.model", s.model(), () -> {
                        Model model = model(src, m, s.model(), "image_encoder.model");
                        try {
                            return ModelAccess.get().imageEncoder(model.name(s.model()), model.loader(), model.sha256(),
                                    imageConfig, config);
                        } finally {
                            model.release();
                        }
                    })).orElse(null);
            OpenSteps.Step<Optional<OnnxImageEncoder>> imageStep = ie.isEmpty() ? null : lazyImageEncoder
                    // The file is found and checked now; the session opens on the first style image (reading it again).
                    ? steps.submit(() -> {
                        withContext(where, "image_encoder.model", ie.get().model(),
                                () -> model(src, m, ie.get().model(), "image_encoder.model")).release();
                        return Optional.empty();
                    }, none -> { })
                    : steps.submit(() -> Optional.of(openImageEncoder.get()), e -> e.get().close());
            List<StagePlan> plans = new ArrayList<>();
            for (int k = 0; k < m.stages().size(); k++) {
                StagePlan plan = plan(src, where, m, k, steps, config, residency);
                plans.add(plan);
                if (plan.failure != null) {
                    break; // a one-by-one open stops here too: nothing after it is opened
                }
            }
            // 2. The results, in the bundle's order, with the checks between them.
            EDiffBuilder b = EDiff.builder().name(m.name());
            b.owning(residency); // closed last: the models unregister from it as they close
            Map<String, OnnxTextEncoder> encoders = new LinkedHashMap<>();
            for (int i = 0; i < encoderSteps.size(); i++) {
                OnnxTextEncoder e = steps.take(encoderSteps.get(i)).own(opened, b);
                e.attach(residency);
                opened.add(e);
                encoders.put(m.textEncoders().get(i).role(), e);
                b.textEncoder(e).owning(e);
            }
            m.layout().ifPresent(b::layout);
            if (imageStep != null) {
                Optional<OnnxImageEncoder> eager = steps.take(imageStep);
                ImageEncoder e = eager.isPresent() ? eager.get() : new LazyImageEncoder(openImageEncoder, ie.get().dim());
                opened.add(e);
                b.imageEncoder(e).owning(e);
            }
            for (int k = 0; k < m.stages().size(); k++) {
                b.stage(stage(where, m, k, plans.get(k), steps, encoders, opened, b, residency));
            }
            return b.build();
        } catch (RuntimeException e) {
            steps.abandon(e); // waits for the models still being opened and closes every one not taken
            for (int i = opened.size() - 1; i >= 0; i--) {
                try {
                    opened.get(i).close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (Thread.currentThread().isInterrupted() && !(e instanceof CancelledException)) {
                // An interrupted file read fails with ClosedByInterruptException: report the cancellation, not the read.
                CancelledException cancelled = new CancelledException("opening " + src.describe() + " was interrupted");
                cancelled.initCause(e);
                throw cancelled;
            }
            if (e instanceof EDiffException) {
                throw e;
            }
            throw new BundleException(where + ": " + e.getMessage(), e);
        }
    }

    /**
     * A model opened by a step, with its bytes when a lazy residency needs them to open it again
     * (else {@code null}: they were freed once the session existed).
     */
    private record Loaded<T extends AutoCloseable>(T value, Model kept) {
        /** Hands the model to the pipeline: its kept bytes are freed when the pipeline closes. */
        T own(List<AutoCloseable> opened, EDiffBuilder b) {
            if (kept != null) {
                AutoCloseable free = kept::release;
                opened.add(free);
                b.owning(free);
            }
            return value;
        }

        /** Closes the model and frees its bytes (a result nobody took). */
        void close() throws Exception {
            try {
                value.close();
            } finally {
                if (kept != null) {
                    kept.release();
                }
            }
        }
    }

    /**
     * Opens a model from its file: read and verified by {@link #model}, opened by {@code open}; the
     * bytes are freed once the session exists, except under a lazy residency, whose session is
     * created again from them (a folder bundle's model has no bytes here: its session reloads from
     * the file).
     */
    private static <T extends AutoCloseable> Loaded<T> load(BundleSource src, Manifest m, String file, String field,
                                                            Residency residency, java.util.function.Function<Model, T> open) {
        Model model = model(src, m, file, field);
        T value;
        try {
            value = open.apply(model);
        } catch (RuntimeException | Error e) {
            model.release();
            throw e;
        }
        if (model.bytes() == null || !residency.isLazy()) {
            model.release();
            return new Loaded<>(value, null);
        }
        return new Loaded<>(value, model);
    }

    /** A text encoder: its tokenizer, checked against the manifest, then its session. */
    private static Loaded<OnnxTextEncoder> textEncoder(BundleSource src, String where, Manifest m, int i,
                                                       SessionConfig config, Residency residency) {
        Manifest.TextEncoderSpec s = m.textEncoders().get(i);
        String field = "text_encoders[" + i + "]";
        Tokenizer tok = withContext(where, field + ".tokenizer", s.tokenizer(),
                () -> tokenizer(src, m, s.tokenizer(), field + ".tokenizer"));
        try {
            tok.encode("", s.maxTokens());
        } catch (IllegalArgumentException ex) {
            throw new BundleException(where + ": " + field + ".max_tokens is " + s.maxTokens() + ", too small for "
                    + src.describe() + "/" + s.tokenizer() + ": " + ex.getMessage()
                    + "; max_tokens must hold the special tokens the tokenizer adds, and the prompt", ex);
        }
        int pad = tok.specialIds().pad();
        if (s.padId().isPresent() && s.padId().getAsInt() != pad) {
            throw new BundleException(where + ": " + field + ".pad_id is " + s.padId().getAsInt() + " but "
                    + src.describe() + "/" + s.tokenizer() + " pads with id " + pad + "; set pad_id to " + pad
                    + " or leave it out (the tokenizer file decides the padding)");
        }
        OnnxTextEncoder.Config c = new OnnxTextEncoder.Config(s.role(), s.maxTokens(), s.inputIds(),
                s.attentionMaskInput(), s.tokensOutput(), s.pooledOutput(), s.dim(),
                s.off() == Manifest.Off.EMPTY_PROMPT);
        return withContext(where, field + ".model", s.model(), () -> load(src, m, s.model(), field + ".model", residency,
                model -> ModelAccess.get().textEncoder(model.name(s.model()), model.loader(), model.sha256(), tok, c,
                        config)));
    }

    /**
     * A stage's contract and the steps opening its ONNX experts (null for a provider's expert), or
     * the failure that stopped planning it (thrown when the stage's turn comes).
     */
    private record StagePlan(ExpertContract contract, List<OpenSteps.Step<Loaded<OnnxExpert>>> experts,
                             RuntimeException failure) {
    }

    private static StagePlan plan(BundleSource src, String where, Manifest m, int k, OpenSteps steps,
                                  SessionConfig config, Residency residency) {
        Manifest.StageSpec s = m.stages().get(k);
        String field = "stages[" + k + "]";
        ExpertContract contract;
        try {
            ExpertContract.Builder cb = ExpertContract.builder().xInput(s.xInput())
                    .noiseInput(s.noiseInput(), switch (s.noiseShape()) {
                        case "scalar" -> ExpertContract.NoiseInput.SCALAR;
                        case "batch_1" -> ExpertContract.NoiseInput.PER_SAMPLE_COLUMN;
                        default -> ExpertContract.NoiseInput.PER_SAMPLE;
                    })
                    .output(s.output())
                    .parameterization(switch (s.parameterization()) {
                        case "edm" -> Parameterization.edm(s.sigmaData());
                        case "eps" -> Parameterization.eps(s.sigmaData(), sigma -> sigma);
                        case "v" -> Parameterization.v(s.sigmaData(), sigma -> sigma);
                        default -> Parameterization.x0();
                    });
            s.conditioningInputs().forEach((role, input) -> {
                if (role.equals(Conditioning.ATTENTION_BIAS)) {
                    cb.conditioning(role, input, 0f); // no painted words: a zero bias, which changes nothing
                } else {
                    cb.conditioning(role, input);
                }
            });
            checkRolesHaveSources(where, field, s, m);
            contract = cb.build();
        } catch (RuntimeException e) {
            return new StagePlan(null, List.of(), e);
        }
        List<OpenSteps.Step<Loaded<OnnxExpert>>> experts = new ArrayList<>();
        for (int i = 0; i < s.experts().size(); i++) {
            Manifest.ExpertSpec e = s.experts().get(i);
            if (e.provider().isPresent()) {
                experts.add(null);
                continue;
            }
            String ef = field + ".experts[" + i + "]";
            String file = e.model().orElseThrow();
            experts.add(steps.submit(() -> withContext(where, ef + ".model", file, () -> load(src, m, file, ef + ".model",
                    residency, model -> ModelAccess.get().expert(e.name(), model.loader(), model.sha256(), contract,
                            config, zeroCopy(src, m, file, ef + ".model", model, s, config)))), Loaded::close));
        }
        return new StagePlan(contract, experts, null);
    }

    private static Stage stage(String where, Manifest m, int k, StagePlan plan, OpenSteps steps,
                               Map<String, OnnxTextEncoder> encoders, List<AutoCloseable> opened, EDiffBuilder b,
                               Residency residency) {
        if (plan.failure != null) {
            throw plan.failure;
        }
        Manifest.StageSpec s = m.stages().get(k);
        String field = "stages[" + k + "]";
        RoutingTree.Builder tree = RoutingTree.builder()
                .covering(new NoiseInterval(s.sigmaMin(), Math.nextUp(s.sigmaMax())));
        for (int i = 0; i < s.experts().size(); i++) {
            Manifest.ExpertSpec e = s.experts().get(i);
            String ef = field + ".experts[" + i + "]";
            if (e.provider().isPresent()) {
                tree.expert(new NoiseInterval(e.sigmaLo(), e.sigmaHi()), providedExpert(where, ef, e, opened, b));
                continue;
            }
            String file = e.model().orElseThrow();
            OnnxExpert expert = steps.take(plan.experts.get(i)).own(opened, b);
            opened.add(expert);
            b.owning(expert);
            checkWidths(where, ef, file, expert, s, encoders, m);
            expert.attach(residency, Residency.Placement.denoiser(k, e.sigmaLo()));
            tree.expert(new NoiseInterval(e.sigmaLo(), e.sigmaHi()), expert);
        }
        RoutingTree routing;
        try {
            routing = tree.build();
        } catch (IllegalArgumentException ex) {
            throw new BundleException(where + ": " + field + ".experts do not tile the stage's range [sigma_min, sigma_max] = ["
                    + s.sigmaMin() + ", " + s.sigmaMax() + "]: " + ex.getMessage()
                    + ". Make the sigma_lo/sigma_hi intervals contiguous; the top one may omit sigma_hi (unbounded)");
        }
        Stage.Builder sb = Stage.builder(s.name(), routing, dev.ediff.api.TensorShape.of(s.channels(), s.height(), s.width()))
                .defaultSampler(Samplers.parse(s.sampler()), s.steps())
                .schedule(Schedules.karras(s.sigmaMin(), s.sigmaMax(), s.rho()))
                .defaultGuidance(Guidance.of(s.guidance()))
                .roles(s.conditioningInputs().keySet());
        s.augmentationSigma().ifPresent(sb::superResolution);
        return sb.build();
    }

    /**
     * The Java expert an {@link dev.ediff.api.ExpertProvider} makes for a manifest entry, under the
     * entry's name (as an ONNX expert is named), owned by the pipeline when it is closeable.
     */
    private static Expert providedExpert(String where, String field, Manifest.ExpertSpec e, List<AutoCloseable> opened,
                                         EDiffBuilder b) {
        String provider = e.provider().orElseThrow();
        Expert made;
        try {
            made = ExpertProviders.create(provider, e.options());
        } catch (IllegalArgumentException ex) {
            throw new BundleException(where + ": " + field + " (provider '" + provider + "', options " + e.options()
                    + "): " + ex.getMessage(), ex);
        }
        if (made instanceof AutoCloseable closeable) {
            opened.add(closeable);
            b.owning(closeable);
        }
        return new ForwardingExpert(made) {
            @Override
            public String name() {
                return e.name();
            }
        };
    }

    private static void checkRolesHaveSources(String where, String field, Manifest.StageSpec s, Manifest m) {
        for (String role : s.conditioningInputs().keySet()) {
            String needs = switch (role) {
                case Conditioning.T5_TOKENS, Conditioning.T5_MASK -> m.textEncoders().stream()
                        .anyMatch(t -> t.role().equals("t5")) ? null : "a text encoder with role 't5'";
                case Conditioning.CLIP_TOKENS, Conditioning.CLIP_MASK -> m.textEncoders().stream()
                        .anyMatch(t -> t.role().equals("clip")) ? null : "a text encoder with role 'clip'";
                case Conditioning.CLIP_POOLED -> m.textEncoders().stream()
                        .anyMatch(t -> t.role().equals("clip") && t.pooledOutput().isPresent()) ? null
                        : "a 'clip' text encoder with outputs.pooled";
                case Conditioning.IMAGE_EMBEDDING -> m.imageEncoder().isPresent() ? null : "an image_encoder";
                default -> null;
            };
            if (needs != null) {
                throw new BundleException(where + ": " + field + ".inputs." + role + " is fed by " + needs
                        + ", which the manifest does not declare");
            }
        }
    }

    /** Embedding widths and token lengths must agree between the encoders and each expert's inputs. */
    private static void checkWidths(String where, String field, String file, OnnxExpert expert, Manifest.StageSpec s,
                                    Map<String, OnnxTextEncoder> encoders, Manifest m) {
        for (Map.Entry<String, String> e : s.conditioningInputs().entrySet()) {
            String role = e.getKey();
            long[] shape = expert.inputShape(e.getValue());
            Integer width = null;
            Integer length = null;
            String source = null;
            switch (role) {
                case Conditioning.T5_TOKENS, Conditioning.CLIP_TOKENS -> {
                    OnnxTextEncoder enc = encoders.get(role.startsWith("t5") ? "t5" : "clip");
                    width = enc.config().dim();
                    length = enc.config().maxTokens();
                    source = "text_encoders(" + enc.role() + ")";
                    expectRank(where, field, file, e.getValue(), role, shape, 3);
                }
                case Conditioning.CLIP_POOLED -> {
                    width = encoders.get("clip").config().dim();
                    source = "text_encoders(clip)";
                    expectRank(where, field, file, e.getValue(), role, shape, 2);
                }
                case Conditioning.IMAGE_EMBEDDING -> {
                    width = m.imageEncoder().orElseThrow().dim();
                    source = "image_encoder";
                    expectRank(where, field, file, e.getValue(), role, shape, 2);
                }
                case Conditioning.T5_MASK, Conditioning.CLIP_MASK -> {
                    length = encoders.get(role.startsWith("t5") ? "t5" : "clip").config().maxTokens();
                    source = "text_encoders(" + (role.startsWith("t5") ? "t5" : "clip") + ")";
                    expectRank(where, field, file, e.getValue(), role, shape, 2);
                }
                default -> {
                }
            }
            if (width != null && shape[shape.length - 1] >= 0 && shape[shape.length - 1] != width) {
                throw new BundleException(where + ": " + field + " (" + file + ") input '" + e.getValue() + "' (" + role
                        + ") has width " + shape[shape.length - 1] + ", but " + source + ".dim is " + width
                        + "; the encoder and the expert must agree");
            }
            if (length != null && shape[1] >= 0 && shape[1] != length) {
                throw new BundleException(where + ": " + field + " (" + file + ") input '" + e.getValue() + "' (" + role
                        + ") takes " + shape[1] + " tokens, but " + source + ".max_tokens is " + length);
            }
        }
    }

    private static void expectRank(String where, String field, String file, String input, String role, long[] shape,
                                   int rank) {
        if (shape.length != rank) {
            throw new BundleException(where + ": " + field + " (" + file + ") input '" + input + "' (" + role
                    + ") has rank " + shape.length + "; expected rank " + rank);
        }
    }

    /**
     * A model's bytes outside the heap (classpath bundles), or its path (folder bundles: ONNX
     * Runtime reads the file itself and finds external data beside it); {@code stamp} is the version
     * of the file its {@code sha256} was verified for (null without a digest).
     */
    private record Model(java.nio.ByteBuffer bytes, Optional<Path> path, String sha256, FileStamp stamp,
                         SessionOpener.Loader reader) {
        Model(java.nio.ByteBuffer bytes, Optional<Path> path, String sha256, FileStamp stamp) {
            this(bytes, path, sha256, stamp, null);
        }

        /**
         * Creates the session: ONNX Runtime reads the file (and external data beside it), or the native
         * copy, or the bytes {@code reader} reads when called.
         */
        SessionOpener.Loader loader() {
            if (reader != null) {
                return reader;
            }
            if (path.isPresent()) {
                String file = path.get().toString();
                return (env, options) -> env.createSession(file, options);
            }
            return SessionOpener.fromBuffer(bytes);
        }

        /** The name sessions report in messages: the file's name for a folder bundle, else {@code manifestPath}. */
        String name(String manifestPath) {
            return path.map(p -> p.getFileName().toString()).orElse(manifestPath);
        }

        /** Frees the native copy now that the session is made (ONNX Runtime keeps its own), not at some later GC. */
        void release() {
            if (bytes != null) {
                BundleSource.free(bytes);
            }
        }
    }

    /**
     * The tokenizer of a bundle file, verified against the manifest's digest: parsed from the file,
     * or the one parsed before from the same version of it (see {@link BundleCache}), or, when the
     * file's digest is known without reading it, its compact form left by an earlier process
     * ({@link CompactTokenizers}).
     */
    private static Tokenizer tokenizer(BundleSource src, Manifest m, String file, String field) {
        FileStamp before = src.stamp(file, field);
        Tokenizer cached = BundleCache.tokenizer(before);
        String digest = BundleCache.digest(before);
        if (digest != null) {
            BundleDigests.verify(m, src.describe(), file, digest);
            if (cached != null) {
                return cached;
            }
            // the file is unchanged since its digest was taken: an earlier process may have left its compact form
            Tokenizer compact = CompactTokenizers.get(digest);
            if (compact != null) {
                BundleCache.putTokenizer(before, before, compact);
                return compact;
            }
        }
        byte[] bytes = src.read(file, field);
        FileStamp after = src.stamp(file, field);
        if (digest == null || !before.equals(after)) {
            digest = before != null || m.sha256().containsKey(file) ? BundleDigests.sha256(bytes) : null;
        }
        if (digest != null) {
            BundleDigests.verify(m, src.describe(), file, digest);
            BundleCache.putDigest(before, after, digest);
        }
        Tokenizer tok = Tokenizers.load(bytes, src.describe() + "/" + file);
        BundleCache.putTokenizer(before, after, tok);
        CompactTokenizers.put(digest, tok);
        return tok;
    }

    /**
     * Verifies a file against the manifest's digest, if it has one: with the digest computed for the
     * same version of the file before, if there is one, else by hashing {@code bytes}, its content
     * read while it had the stamp {@code before}.
     */
    private static String verify(BundleSource src, Manifest m, String file, String field, FileStamp before,
                                 Supplier<String> hash) {
        if (!m.sha256().containsKey(file)) {
            return null;
        }
        FileStamp after = before == null ? null : src.stamp(file, field);
        String digest = before != null && before.equals(after) ? BundleCache.digest(before) : null;
        if (digest == null) {
            digest = hash.get();
            BundleCache.putDigest(before, after, digest);
        }
        BundleDigests.verify(m, src.describe(), file, digest);
        return digest;
    }

    private static Model model(BundleSource src, Manifest m, String file, String field) {
        FileStamp before = m.sha256().containsKey(file) ? src.stamp(file, field) : null;
        DigestRecords.Entry recorded = DigestRecords.get(before);
        if (recorded != null && recorded.selfContained()) {
            // Verified and scanned by an earlier open of this very version of the file: nothing is read
            // now. ONNX Runtime reads it only if no cached graph serves the session (see onDemand).
            BundleDigests.verify(m, src.describe(), file, recorded.sha256());
            BundleCache.remember(before, recorded.sha256());
            Optional<Path> path = src.path(file, field);
            return new Model(null, path, recorded.sha256(), before,
                    path.isPresent() ? null : onDemand(src, m, file, field, before, SESSION));
        }
        BundleSource.ModelFile mf = src.model(file, field);
        List<String> external;
        String digest;
        try {
            // Verified before ONNX Runtime sees the file: the mapping (folder) or the direct copy (classpath).
            digest = verify(src, m, file, field, before, () -> BundleDigests.sha256(mf.bytes()));
            external = OnnxExternalData.locations(mf.bytes(), src.describe() + "/" + file + " (" + field + ")");
        } catch (RuntimeException e) {
            BundleSource.free(mf.bytes());
            throw e;
        }
        if (mf.path().isPresent()) {
            BundleSource.free(mf.bytes()); // the mapping was for the scan; ONNX Runtime opens the path
        }
        if (external.isEmpty()) {
            DigestRecords.put(before, src.stamp(file, field), digest, true);
            return new Model(mf.path().isPresent() ? null : mf.bytes(), mf.path(), digest, digest == null ? null : before);
        }
        if (!(src instanceof BundleSource.Folder folder)) {
            BundleSource.free(mf.bytes());
            throw new BundleException(src.describe() + "/" + file + " (" + field + ") stores weights in external files "
                    + external + "; a classpath bundle must be self-contained (save the model without external data)");
        }
        String dir = file.contains("/") ? file.substring(0, file.lastIndexOf('/') + 1) : "";
        for (String loc : external) {
            if (loc.isEmpty()) {
                throw new BundleException(src.describe() + "/" + file + " (" + field
                        + ") has a tensor marked external without a location");
            }
            BundlePaths.checkRelative(loc, src.describe() + "/" + file, "external data of " + field);
            Path data = BundlePaths.resolveInside(folder.dir, dir + loc, src.describe() + "/" + file,
                    "external data of " + field);
            String describe = src.describe() + "/" + dir + loc;
            verify(src, m, dir + loc, "external data of " + field,
                    m.sha256().containsKey(dir + loc) ? FileStamp.of(data) : null,
                    () -> BundleDigests.sha256(data, describe));
        }
        return new Model(null, mf.path(), null, null); // external data: not cached
    }

    /** Makes a session from a model's bytes. */
    @FunctionalInterface
    private interface FromBytes {
        ai.onnxruntime.OrtSession load(ai.onnxruntime.OrtEnvironment env, ai.onnxruntime.OrtSession.SessionOptions options,
                                       java.nio.ByteBuffer bytes) throws ai.onnxruntime.OrtException;
    }

    /** ONNX Runtime's session of the bytes as they are. */
    private static final FromBytes SESSION = (env, options, bytes) -> env.createSession(bytes, options);

    /**
     * A loader for a model whose digest was verified for the file version {@code verified}: reads
     * the file (a classpath resource into native memory) when a session is created from it (a
     * graph-cache miss, or the cache off), hands the bytes to {@code then} (ONNX Runtime copies what
     * it is given) and frees them. If the file's stamp is no longer {@code verified} (or there is
     * none), what was read is hashed and checked against the manifest before anything sees it.
     */
    private static SessionOpener.Loader onDemand(BundleSource src, Manifest m, String file, String field,
                                                 FileStamp verified, FromBytes then) {
        return (env, options) -> {
            BundleSource.ModelFile mf = src.model(file, field);
            try {
                if (verified == null || !verified.equals(src.stamp(file, field))) {
                    BundleDigests.verify(m, src.describe(), file, BundleDigests.sha256(mf.bytes()));
                }
                return then.load(env, options, mf.bytes());
            } finally {
                BundleSource.free(mf.bytes());
            }
        };
    }

    /**
     * For an expert that takes the paint-with-words bias, the way its unpainted calls run a copy of
     * its graph without the work on the zero bias ({@link ZeroInputRewrite}), and the way its graph
     * itself opens on the first painted call; null when the stage takes no bias or the model is not a
     * self-contained file with a verified digest, or the optimized-graph cache does not apply (the
     * cache off, a CUDA session): the rewrite costs about 0.3 s of CPU per expert in a fresh JVM, paid
     * once when its optimized graph is cached, at every open otherwise, more than the copy saves in
     * a few generations. Both loaders read the model file again when a session is made from it (a
     * graph-cache miss; otherwise the cached optimized graph serves), as {@link #onDemand} does.
     */
    private static ZeroInputCopy zeroCopy(BundleSource src, Manifest m, String file, String field, Model model,
                                          Manifest.StageSpec s, SessionConfig config) {
        String bias = s.conditioningInputs().get(Conditioning.ATTENTION_BIAS);
        if (bias == null || model.sha256() == null || !GraphCache.applies(config, model.sha256())
                || !(config.provider() instanceof dev.ediff.onnx.ExecutionProvider.Cpu)) {
            return null;
        }
        String name = src.describe() + "/" + file;
        SessionOpener.Loader copy = onDemand(src, m, file, field, model.stamp(), (env, options, bytes) -> env.createSession(
                ZeroInputRewrite.apply(bytes, bias, name).orElseThrow(() -> new ZeroInputCopy.NotApplicable(name
                        + ": nothing computed from the zero input '" + bias + "' can be removed")), options));
        // a folder model's loader reads its file; a classpath model's bytes are freed once the copy is open
        SessionOpener.Loader graph = model.path().isPresent() ? model.loader()
                : onDemand(src, m, file, field, model.stamp(), SESSION);
        // the graph cache's key is made from this text (with the engine, options and CPU): no hash needed here
        String key = model.sha256() + " zero-input " + bias + " v" + ZeroInputRewrite.VERSION;
        return new ZeroInputCopy(bias, copy, key, graph);
    }

    @FunctionalInterface
    private interface Opener<T> {
        T open();
    }

    /** Adds the manifest field and file to a model error. */
    private static <T> T withContext(String where, String field, String file, Opener<T> opener) {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancelledException("opening " + where.substring(0, where.length() - Manifest.FILE.length() - 1)
                    + " was interrupted before " + field + " (" + file + ")");
        }
        try {
            return opener.open();
        } catch (BundleException | CancelledException e) {
            throw e;
        } catch (EDiffException e) {
            throw new BundleException(where + ": " + field + " (" + file + "): " + e.getMessage(), e);
        }
    }
}
