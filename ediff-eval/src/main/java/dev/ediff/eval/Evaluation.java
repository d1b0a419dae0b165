package dev.ediff.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.StageOptions;
import dev.ediff.core.EDiff;
import dev.ediff.core.Stage;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.Resampler;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.onnx.OnnxImageEncoder;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The evaluation behind {@code ediff eval}: generates every prompt of a prompt file
 * ({@link PromptFile}) under one or more configurations ({@link EvalConfig}), reads the images with the judge
 * ({@link Judge}) and prints the quality table as Markdown, one row per configuration:
 * <ul>
 *   <li>prompt: images whose every stated attribute is right ({@link Scoring#matches});</li>
 *   <li>count: images with as many objects as stated; shape, colour, size: per stated object,
 *       after assigning found objects to stated ones ({@link Scoring#score}); position: per stated
 *       cell; relation: per stated relation;</li>
 *   <li>style: images of prompts with a style reference whose judged background (pattern and
 *       tint) equals the reference image's; paint inside: images of prompts with a paint entry
 *       that have at least one object and every object in a cell the mask covers for >= 50%
 *       (both are scored whether or not the row applies the reference or paint, so that a row
 *       with {@code style=false} or {@code paint=false} is the baseline);</li>
 *   <li>FD: with {@code --real DIR}, the Frechet distance between the mini-CLIP image embeddings
 *       (the bundle's image encoder) of the row's images and of the real images in DIR;</li>
 *   <li>s/image: wall time of the row's generation divided by its images (with {@code --jobs N}
 *       the images of N prompts are made at once, so this is throughput, not latency).</li>
 * </ul>
 * With {@code --real DIR} and a {@code labels.jsonl} in DIR (prompt-file JSON lines with an extra
 * {@code "file": "NAME.png"} field; the spec should state every object's cell), a first row
 * "real (ceiling)" scores the real images themselves: the judge's accuracy, the ceiling of every
 * other row.
 *
 * <p>What a run does is an {@link Options} (the {@code eval} command's options map onto it one to
 * one). With {@code jobs > 1} the prompts are generated that many at a time, each ONNX session with
 * {@code max(1, cores / jobs)} intra-op threads unless the options say otherwise, because on a
 * small model N single-threaded generations beat one N-threaded one. The table does not depend on
 * the jobs: every prompt has its own seed.
 */
public final class Evaluation {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Evaluation() {
    }

    /**
     * What one evaluation run does. Immutable; build with {@link #builder(Path)}.
     *
     * @param prompts   the prompt file ({@link PromptFile})
     * @param model     the bundle folder, or null for the default bundle on the classpath
     * @param judge     the judge model, or null for {@code judge/judge.onnx} in the bundle
     * @param limit     evaluate the first {@code limit} prompts only
     * @param perPrompt images per prompt (seeds seed .. seed + perPrompt - 1)
     * @param configs   the table's rows, labels distinct
     * @param real      a folder of real images for the Frechet distance (and the ceiling row), or null
     * @param jobs      prompts generated at once
     * @param sessions  how the bundles' ONNX sessions are opened, or null for the CPU with
     *                  {@code max(1, cores / jobs)} intra-op threads when {@code jobs > 1}
     */
    public record Options(Path prompts, Path model, Path judge, int limit, int perPrompt, List<EvalConfig> configs,
                          Path real, int jobs, SessionConfig sessions) {

        /** Checks every field; a bad one is an {@link EvalException} with the usage exit code. */
        public Options {
            if (prompts == null) {
                throw new EvalException(EvalException.USAGE, "eval needs a prompt file");
            }
            positive("limit", limit);
            positive("count per prompt", perPrompt);
            positive("jobs", jobs);
            configs = configs == null || configs.isEmpty() ? List.of(EvalConfig.defaults()) : List.copyOf(configs);
            List<String> labels = configs.stream().map(EvalConfig::label).toList();
            if (labels.stream().distinct().count() != labels.size()) {
                throw new EvalException(EvalException.USAGE, "--config labels must differ, got " + labels);
            }
        }

        /** A builder for a run over {@code prompts} with the defaults: every prompt, one image each, one job. */
        public static Builder builder(Path prompts) {
            return new Builder(prompts);
        }

        /** The session configuration in use: {@link #sessions()} or the default for {@link #jobs()}. */
        public SessionConfig sessionConfig() {
            if (sessions != null) {
                return sessions;
            }
            return jobs == 1 ? SessionConfig.DEFAULT : SessionConfig.builder()
                    .intraOpThreads(Math.max(1, Runtime.getRuntime().availableProcessors() / jobs)).build();
        }

        private static void positive(String what, int n) {
            if (n < 1) {
                throw new EvalException(EvalException.USAGE, what + " must be >= 1, got " + n);
            }
        }
    }

    /** Builds {@link Options}. */
    public static final class Builder {
        private final Path prompts;
        private Path model;
        private Path judge;
        private int limit = Integer.MAX_VALUE;
        private int perPrompt = 1;
        private final List<EvalConfig> configs = new ArrayList<>();
        private Path real;
        private int jobs = 1;
        private SessionConfig sessions;

        private Builder(Path prompts) {
            this.prompts = prompts;
        }

        /** The bundle folder (default: the classpath bundle). */
        public Builder model(Path dir) {
            this.model = dir;
            return this;
        }

        /** The judge model (default: {@code judge/judge.onnx} in the bundle). */
        public Builder judge(Path file) {
            this.judge = file;
            return this;
        }

        /** Evaluate the first {@code n} prompts only. */
        public Builder limit(int n) {
            this.limit = n;
            return this;
        }

        /** Images per prompt (default 1). */
        public Builder perPrompt(int k) {
            this.perPrompt = k;
            return this;
        }

        /** Adds a row (default: one row with the bundle's defaults). */
        public Builder config(EvalConfig config) {
            this.configs.add(config);
            return this;
        }

        /** Real images for the Frechet distance and, with labels, the ceiling row. */
        public Builder real(Path dir) {
            this.real = dir;
            return this;
        }

        /** Prompts generated at once (default 1). */
        public Builder jobs(int n) {
            this.jobs = n;
            return this;
        }

        /** How sessions are opened (device, threads); default: see {@link Options#sessionConfig()}. */
        public Builder sessions(SessionConfig config) {
            this.sessions = config;
            return this;
        }

        /** The options; throws {@link EvalException} when one is out of range. */
        public Options build() {
            return new Options(prompts, model, judge, limit, perPrompt, configs, real, jobs, sessions);
        }
    }

    /** Runs an evaluation; progress goes to {@code err}, the table to {@code out}. Returns the exit code (0). */
    public static int run(Options o, PrintStream out, PrintStream err) {
        List<PromptFile.Entry> entries = PromptFile.read(o.prompts());
        if (entries.size() > o.limit()) {
            entries = entries.subList(0, o.limit());
        }
        Map<String, EDiff> pipelines = new LinkedHashMap<>();
        SessionConfig sessions = o.sessionConfig();
        ExecutorService pool = Executors.newFixedThreadPool(o.jobs(), r -> {
            Thread t = new Thread(r, "ediff-eval");
            t.setDaemon(true);
            return t;
        });
        try (Judge judge = openJudge(o); ImageEmbedder embedder = o.real() == null ? null : ImageEmbedder.open(o.model())) {
            List<float[]> realEmbeddings = null;
            Tally ceiling = null;
            if (o.real() != null) {
                RealSet real = RealSet.read(o.real());
                realEmbeddings = new ArrayList<>();
                for (BufferedImage img : real.images().values()) {
                    realEmbeddings.add(embedder.embed(img));
                }
                ceiling = real.score(judge);
                err.println("real images: " + real.images().size() + " in " + o.real()
                        + (ceiling == null ? " (no labels.jsonl: no ceiling row)" : ""));
            }
            Map<Path, JudgedImage> references = new HashMap<>();
            List<String> rows = new ArrayList<>();
            for (EvalConfig c : o.configs()) {
                String key = c.model() != null ? c.model().toString() : o.model() != null ? o.model().toString() : "";
                EDiff ediff = pipelines.computeIfAbsent(key, k -> k.isEmpty()
                        ? ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, sessions)
                        : ModelBundle.open(Path.of(k), sessions));
                List<String> stageNames = ediff.stages().stream().map(Stage::name).toList();
                if (c.until() != null && !stageNames.contains(c.until())) {
                    throw new EvalException(EvalException.USAGE, "--config '" + c.label() + "': until=" + c.until()
                            + " is not a stage of this model; stages: " + stageNames);
                }
                Tally t = new Tally();
                List<float[]> embeddings = new ArrayList<>();
                long start = System.nanoTime();
                List<Future<Images64>> pending = new ArrayList<>();
                for (PromptFile.Entry e : entries) {
                    pending.add(pool.submit(() -> generate(ediff, c, e, o.perPrompt(), o.prompts())));
                }
                double generating = 0;
                for (int i = 0; i < entries.size(); i++) {
                    PromptFile.Entry e = entries.get(i);
                    err.printf(Locale.ROOT, "\r%s: prompt %d/%d   ", c.label(), i + 1, entries.size());
                    Images64 gen = result(pending, i, err);
                    generating = (System.nanoTime() - start) / 1e9;
                    List<JudgedImage> judged = judge.judge(gen.images(), gen.height(), gen.width());
                    JudgedImage reference = e.style() == null ? null
                            : references.computeIfAbsent(e.style(), p -> judge.judgeImage(Images.read(p, 1)));
                    boolean[] inside = e.paint() == null ? null : e.paint().cellsInside();
                    for (JudgedImage j : judged) {
                        t.add(Scoring.score(e.spec(), j));
                        if (reference != null) {
                            t.addStyle(j.sameStyle(reference));
                        }
                        if (inside != null) {
                            t.addPaint(j.count() > 0 && j.objects().stream().allMatch(obj -> inside[obj.cell()]));
                        }
                    }
                    if (embedder != null) {
                        for (double[] img : gen.images()) {
                            embeddings.add(embedder.embed(Images.toImage(img, 3, gen.height(), gen.width())));
                        }
                    }
                }
                t.seconds = generating;
                err.println();
                if (realEmbeddings != null) {
                    t.frechet = FrechetDistance.between(embeddings, realEmbeddings);
                }
                rows.add(t.row(c.label()));
            }
            out.println("ediff eval " + o.prompts() + ": " + entries.size() + " prompt(s) x " + o.perPrompt()
                    + " image(s); judge " + judge.name());
            out.println();
            out.println(Tally.header());
            if (ceiling != null) {
                out.println(ceiling.row("real (ceiling)"));
            }
            rows.forEach(out::println);
            out.println();
            out.println("prompt = every stated attribute right; shape/colour/size per stated object; position per stated"
                    + " cell; relation per stated pair; style = judged background equals the reference's; paint inside"
                    + " = every object in a painted cell; '-' = nothing to score");
            return 0;
        } finally {
            pool.shutdownNow();
            try {
                // a generation still running holds an expert session: let it end before closing
                pool.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            for (EDiff e : pipelines.values()) {
                e.close();
            }
        }
    }

    /** Prompt i's images; on a failure the prompts after it are cancelled and the failure rethrown. */
    private static Images64 result(List<Future<Images64>> pending, int i, PrintStream err) {
        try {
            return pending.get(i).get();
        } catch (ExecutionException ex) {
            pending.forEach(f -> f.cancel(true));
            err.println(); // end the progress line before the error message
            if (ex.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new EvalException(EvalException.FAILED, String.valueOf(ex.getCause()));
        } catch (InterruptedException ex) {
            pending.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new dev.ediff.api.CancelledException("evaluation interrupted");
        }
    }

    /** The final images of one prompt line as {@code [3, h, w]} tensors in [-1, 1]. */
    record Images64(List<double[]> images, int height, int width) {
    }

    /**
     * The request of one prompt line under {@code c}: the first stage's settings on the request, the
     * {@code sr_} settings on every later stage, {@code paint_weight} in place of the entry's weight.
     */
    static Request request(EvalConfig c, PromptFile.Entry e, int count, List<String> stageNames) {
        Request.Builder r = Request.prompt(e.prompt()).seed(e.seed()).count(count).t5(c.t5()).clip(c.clip())
                .layout(c.layout());
        if (c.sampler() != null) {
            r.sampler(Samplers.byName(c.sampler()));
        }
        if (c.steps() != null) {
            r.steps(c.steps());
        }
        if (c.guidanceFull() != null) {
            r.guidance(c.guidanceFull());
        } else if (c.guidance() != null) {
            r.guidance(c.guidance());
        }
        if (c.style() && e.style() != null) {
            r.style(e.style(), c.styleStrength());
        }
        if (c.paint() && e.paint() != null) {
            r.paint(e.paint().phrase(), e.paint().mask(), c.paintWeight() != null ? c.paintWeight() : e.paint().weight());
        }
        if (c.later().any()) {
            StageOptions o = StageOptions.defaults();
            EvalConfig.LaterStages l = c.later();
            if (l.sampler() != null) {
                o = o.sampler(Samplers.byName(l.sampler()), l.steps()); // parse made sr_sampler come with sr_steps
            } else if (l.steps() != null) {
                o = o.steps(l.steps());
            }
            if (l.guidance() != null) {
                o = o.guidance(Guidance.of(l.guidance()));
            }
            if (l.augmentationSigma() != null) {
                o = o.augmentationSigma(l.augmentationSigma());
            }
            for (String name : stageNames.subList(1, stageNames.size())) {
                r.stage(name, o);
            }
        }
        if (c.bicubic()) {
            r.untilStage(stageNames.get(0));
        } else if (c.until() != null) {
            r.untilStage(c.until());
        }
        return r.build();
    }

    static Images64 generate(EDiff ediff, EvalConfig c, PromptFile.Entry e, int count, Path file) {
        List<Stage> stages = ediff.stages();
        Request request = request(c, e, count, stages.stream().map(Stage::name).toList());
        Generation g;
        try {
            g = ediff.generate(request);
        } catch (EDiffException | IllegalArgumentException ex) {
            throw new EvalException(EvalException.FAILED, file + ":" + e.line() + ": " + ex.getMessage());
        }
        List<double[]> images = new ArrayList<>();
        int h = 0;
        int w = 0;
        for (Sample s : g.samples()) {
            h = s.shape().height();
            w = s.shape().width();
            images.add(s.data());
        }
        if (c.bicubic()) {
            int th = stages.get(stages.size() - 1).sampleShape().height();
            int tw = stages.get(stages.size() - 1).sampleShape().width();
            List<double[]> up = new ArrayList<>();
            for (double[] img : images) {
                up.add(Resampler.resize(img, 3, h, w, th, tw));
            }
            images = up;
            h = th;
            w = tw;
        }
        return new Images64(images, h, w);
    }

    /** The judge of {@code --judge}, else {@code judge/judge.onnx} next to the bundle's manifest. */
    static Judge openJudge(Options o) {
        if (o.judge() != null) {
            return Judge.open(o.judge());
        }
        if (o.model() != null) {
            Path j = o.model().resolve("judge").resolve("judge.onnx");
            if (!Files.isRegularFile(j)) {
                throw new EvalException(EvalException.USAGE, "the bundle " + o.model() + " has no judge/judge.onnx; give one"
                        + " with --judge FILE");
            }
            return Judge.open(j);
        }
        String resource = ModelBundle.DEFAULT_CLASSPATH_ROOT + "/judge/judge.onnx";
        return Judge.open("classpath:/" + resource, classpathBytes(resource).orElseThrow(() ->
                new EvalException(EvalException.USAGE, "no judge in the default bundle (classpath:/" + resource
                        + "); give one with --judge FILE or a bundle with --model DIR")));
    }

    private static Optional<byte[]> classpathBytes(String resource) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : Evaluation.class.getClassLoader();
        try (InputStream in = cl.getResourceAsStream(resource)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new EvalException(EvalException.FAILED, "cannot read classpath:/" + resource + ": " + e.getMessage());
        }
    }

    /** The bundle's mini-CLIP image encoder, for the Frechet distance. */
    static final class ImageEmbedder implements AutoCloseable {
        private final OnnxImageEncoder encoder;

        private ImageEmbedder(OnnxImageEncoder encoder) {
            this.encoder = encoder;
        }

        static ImageEmbedder open(Path bundle) {
            Manifest m = bundle != null ? ModelBundle.manifest(bundle) : ModelBundle.defaultManifest().orElseThrow(() ->
                    new EvalException(EvalException.USAGE, "no default bundle on the classpath; give --model DIR"));
            Manifest.ImageEncoderSpec s = m.imageEncoder().orElseThrow(() -> new EvalException(EvalException.USAGE,
                    "the bundle has no image_encoder: the Frechet distance (--real) needs one"));
            OnnxImageEncoder.Config cfg = new OnnxImageEncoder.Config(s.input(), s.output(), s.size(), s.mean(), s.std(),
                    s.dim());
            if (bundle != null) {
                return new ImageEmbedder(OnnxImageEncoder.open(bundle.resolve(s.model()), cfg, SessionConfig.DEFAULT));
            }
            String resource = ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + s.model();
            byte[] bytes = classpathBytes(resource).orElseThrow(() -> new EvalException(EvalException.FAILED,
                    "the default bundle names " + s.model() + " but it is not on the classpath"));
            return new ImageEmbedder(OnnxImageEncoder.open("classpath:/" + resource, bytes, cfg, SessionConfig.DEFAULT));
        }

        float[] embed(BufferedImage image) {
            return encoder.encode(image).toArray();
        }

        @Override
        public void close() {
            encoder.close();
        }
    }

    /**
     * The real images of {@code --real DIR}: every PNG in DIR, and when DIR holds {@code labels.jsonl},
     * the spec of each labelled file.
     */
    record RealSet(Map<String, BufferedImage> images, List<PromptFile.Entry> labelled, Map<Integer, String> fileOfLine) {

        static RealSet read(Path dir) {
            if (!Files.isDirectory(dir)) {
                throw new EvalException(EvalException.USAGE, "--real " + dir + " is not a folder");
            }
            Map<String, BufferedImage> images = new LinkedHashMap<>();
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.filter(f -> f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
                        .sorted().toList()) {
                    images.put(p.getFileName().toString(), Images.read(p, 1));
                }
            } catch (IOException e) {
                throw new EvalException(EvalException.USAGE, "cannot list " + dir + ": " + e.getMessage());
            }
            if (images.isEmpty()) {
                throw new EvalException(EvalException.USAGE, "--real " + dir + " holds no PNG file");
            }
            Path labels = dir.resolve("labels.jsonl");
            if (!Files.isRegularFile(labels)) {
                return new RealSet(images, List.of(), Map.of());
            }
            List<String> lines;
            try {
                lines = Files.readAllLines(labels, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new EvalException(EvalException.USAGE, "cannot read " + labels + ": " + e.getMessage());
            }
            List<PromptFile.Entry> entries = PromptFile.parse(lines, labels.toString(), dir);
            Map<Integer, String> fileOf = new HashMap<>();
            for (PromptFile.Entry e : entries) {
                String f = null;
                try {
                    JsonNode n = JSON.readTree(lines.get(e.line() - 1));
                    f = n.path("file").isTextual() ? n.get("file").asText() : null;
                } catch (IOException ignored) {
                    // a plain-text line: no file field
                }
                if (f == null || !images.containsKey(f)) {
                    throw new EvalException(EvalException.USAGE, labels + ":" + e.line() + ": needs \"file\" naming a PNG in "
                            + dir + (f == null ? "" : ", got '" + f + "'"));
                }
                fileOf.put(e.line(), f);
            }
            return new RealSet(images, entries, fileOf);
        }

        /** The ceiling row: the labelled real images judged against their specs; null without labels. */
        Tally score(Judge judge) {
            if (labelled.isEmpty()) {
                return null;
            }
            Tally t = new Tally();
            for (PromptFile.Entry e : labelled) {
                t.add(Scoring.score(e.spec(), judge.judgeImage(images.get(fileOfLine.get(e.line())))));
            }
            return t;
        }
    }
}
