package dev.ediff.core;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Progress;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.Sampler;
import dev.ediff.api.StageResult;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.core.image.Resampler;
import dev.ediff.core.random.GaussianStream;
import dev.ediff.core.random.SeededNoise;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one stage of the cascade for a batch: resolves its settings (request, per-stage options,
 * stage defaults), draws the seeded initial noise, builds the stage's guidance branches (style,
 * painted words, the low-resolution input of a super-resolution stage), and walks the sampler
 * over the routed, guided experts.
 */
final class StageRunner {

    private final Stage stage;
    private final int index;
    private final Stage previousStage;
    private final Workspace workspace;

    /** Runs {@code stages.get(index)}, its working arrays from (and back to) {@code workspace}. */
    StageRunner(List<Stage> stages, int index, Workspace workspace) {
        this.stage = stages.get(index);
        this.index = index;
        this.previousStage = index > 0 ? stages.get(index - 1) : null;
        this.workspace = workspace;
    }

    /**
     * Runs the stage.
     *
     * @param settings what to run
     * @param seeds    the seed of every image of the batch
     * @param previous the previous stage's samples (ignored by the first stage)
     * @param start    when the generation started ({@link System#nanoTime}), for progress
     */
    StageResult run(GenerationRecord.StageRecord settings, Request request, long[] seeds,
                    Conditioner.Branches branches, PaintWithWords paint, List<Sample> previous, long start) {
        try (Workspace.Binding ignored = Workspace.bind(workspace)) {
            return runBound(settings, request, seeds, branches, paint, previous, start);
        }
    }

    private StageResult runBound(GenerationRecord.StageRecord settings, Request request, long[] seeds,
                                 Conditioner.Branches branches, PaintWithWords paint, List<Sample> previous,
                                 long start) {
        long stageStart = System.nanoTime();
        TensorShape sampleShape = stage.sampleShape();
        long size = sampleShape.withBatch(seeds.length).size();
        boolean given = index == 0 && request.initialNoise().isPresent();
        double[] x;
        if (given) {
            x = request.initialNoise().get();
        } else {
            x = workspace.take(Math.toIntExact(size));
            SeededNoise.fill(seeds, sampleShape.sampleSize(), index, x);
        }
        try {
            return sample(settings, request, seeds, branches, paint, previous, start, stageStart, x);
        } finally {
            if (!given) {
                workspace.give(x);
            }
        }
    }

    private StageResult sample(GenerationRecord.StageRecord settings, Request request, long[] seeds,
                               Conditioner.Branches branches, PaintWithWords paint, List<Sample> previous,
                               long start, long stageStart, double[] x) {
        Sampler sampler = settings.sampler();
        int steps = settings.steps();
        Guidance guidance = settings.guidance();
        double[] sigmas = settings.sigmas();
        int count = seeds.length;
        TensorShape sampleShape = stage.sampleShape();
        TensorShape shape = sampleShape.withBatch(count);
        int d = sampleShape.sampleSize();
        if (x.length != shape.size()) {
            throw new IllegalArgumentException("initial noise has " + x.length + " values; this model needs "
                    + shape.size() + " for shape " + shape + " (count x C x H x W)");
        }
        for (int i = 0; i < x.length; i++) {
            x[i] *= settings.noiseScale();
        }
        // A later stage without an image-embedding input (an SR stage conditioned on text and the
        // low-res image only) gets the style through its input image and runs without the style branch.
        boolean styled = branches.styled() && stage.accepts(Conditioning.IMAGE_EMBEDDING);
        if (branches.styled() && !styled && index == 0) {
            throw new IllegalArgumentException("stage '" + stage.name()
                    + "' takes no image embedding, so it cannot use a style image");
        }
        List<Conditioning> stageBranches = branches.styled() && !styled
                ? branches.conditionings().subList(0, branches.conditionings().size() - 1) : branches.conditionings();
        Conditioning lowRes = settings.augmentation().isPresent()
                ? lowResolution(settings.augmentation().getAsDouble(), previous, seeds) : Conditioning.NONE;
        stageBranches = paint.apply(stageBranches, branches.textGuided(), stage, index == 0);
        List<Conditioning> conds = new ArrayList<>();
        for (Conditioning c : stageBranches) {
            Conditioning full = stage.roles().isPresent() ? c.retain(stage.roles().get()) : c;
            conds.add(fitBatch(full, count).merge(lowRes));
        }
        if (stage.roles().isPresent() && stage.accepts(Conditioning.IMAGE_EMBEDDING)
                && !conds.get(0).roles().contains(Conditioning.IMAGE_EMBEDDING)) {
            throw new IllegalArgumentException("stage '" + stage.name() + "' has experts that take '"
                    + Conditioning.IMAGE_EMBEDDING + "', but this pipeline has no image encoder to provide it;"
                    + " derive pipelines from a loaded model with EDiff.toBuilder(), which keeps its encoders");
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
        NoiseSource noise = index == 0 && request.noiseSource().isPresent()
                ? request.noiseSource().get() : SeededNoise.sampler(seeds, d, index);
        CancellationToken token = request.cancellation();
        // The guidance interval limits text guidance only; style guidance applies at every sigma.
        int intervalScales = styled && !branches.textGuided() ? 0 : Math.min(1, scales.length);
        try (GuidedDenoiser model = new GuidedDenoiser(stage.routingTree(), shape, conds, scales, intervalScales,
                guidance, token);
             AutoCloseable ignored = token.onCancel(model::abortRunning)) {
            int[] bounds = segments(sigmas);
            for (int s = 0; s + 1 < bounds.length; s++) {
                int offset = bounds[s];
                sampler.sample(model, x, Arrays.copyOfRange(sigmas, offset, bounds[s + 1] + 1), noise,
                        (i, sigma, xi, denoised) -> {
                            request.stepObserver().onStep(offset + i, sigma, xi, denoised);
                            request.progress().onProgress(new Progress(stage.name(), offset + i, steps,
                                    model.evaluations().size(), sigma, model.lastExpert(),
                                    Duration.ofNanos(System.nanoTime() - start)));
                        });
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new CancelledException("generation interrupted");
            }
            List<Sample> samples = new ArrayList<>(count);
            double[] one = workspace.take(d); // Sample copies what it is given: one staging array for all
            try {
                for (int b = 0; b < count; b++) {
                    System.arraycopy(x, b * d, one, 0, d);
                    Sample s = new Sample(seeds[b], sampleShape, one);
                    samples.add(stage.decoder().map(dec -> dec.decode(s)).orElse(s));
                }
            } finally {
                workspace.give(one);
            }
            return new StageResult(stage.name(), samples, sampler.name(), steps, guidance, sigmas, model.evaluations(),
                    Duration.ofNanos(System.nanoTime() - stageStart), Duration.ofNanos(model.modelNanos()));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("unexpected failure closing a cancellation hook", e);
        }
    }

    /**
     * The step indices where the sampler starts afresh: {@code {0, steps}}, plus every step whose
     * sigma belongs to another expert than the step before when the stage restarts per expert.
     */
    private int[] segments(double[] sigmas) {
        List<Integer> bounds = new ArrayList<>(List.of(0));
        if (stage.restartsPerExpert()) {
            RoutingTree tree = stage.routingTree();
            for (int i = 1; i < sigmas.length - 1; i++) {
                if (tree.indexOf(sigmas[i]) != tree.indexOf(sigmas[i - 1])) {
                    bounds.add(i);
                }
            }
        }
        bounds.add(sigmas.length - 1);
        return bounds.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The previous stage's output upsampled to this stage and noised to {@code sigmaAug}, per image. */
    private Conditioning lowResolution(double sigmaAug, List<Sample> previous, long[] seeds) {
        TensorShape s = stage.sampleShape();
        TensorShape prevShape = previousStage.sampleShape();
        if (prevShape.channels() != s.channels()) {
            throw new EDiffException("stage '" + stage.name() + "' has " + s.channels()
                    + " channels but the stage before it produces " + prevShape.channels());
        }
        int d = s.sampleSize();
        // One image at a time through one staging array: Tensor.of copies it, and the batch is a
        // concatenation that refers to the per-image tensors (nothing here grows with the batch
        // but the low-resolution images themselves, one copy each).
        float[] low = new float[d];
        Tensor[] images = new Tensor[seeds.length];
        double[] up = workspace.take(d);
        double[] tmp = workspace.take(Resampler.scratchSize(s.channels(), prevShape.height(), s.width()));
        double[] src = workspace.take(prevShape.sampleSize());
        try {
            for (int b = 0; b < seeds.length; b++) {
                Sample p = previous.get(b);
                if (p.shape().size() != src.length) {
                    throw new IllegalArgumentException("cannot resize " + p.shape().size() + " values as ["
                            + s.channels() + ", " + prevShape.height() + ", " + prevShape.width() + "] to "
                            + s.height() + "x" + s.width());
                }
                for (int i = 0; i < src.length; i++) { // Sample.data() would copy
                    src[i] = p.get(i);
                }
                Resampler.resize(src, s.channels(), prevShape.height(), prevShape.width(),
                        s.height(), s.width(), tmp, up);
                GaussianStream z = SeededNoise.stream(seeds[b], index, SeededNoise.AUGMENTATION);
                for (int i = 0; i < d; i++) {
                    low[i] = (float) (up[i] + sigmaAug * z.next());
                }
                images[b] = Tensor.of(low, 1, s.channels(), s.height(), s.width());
            }
        } finally {
            workspace.give(up);
            workspace.give(tmp);
            workspace.give(src);
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(Conditioning.LOW_RES, Tensor.concatBatch(images));
        m.put(Conditioning.AUGMENTATION_SIGMA, Tensor.filled((float) sigmaAug, 1).repeatBatch(seeds.length));
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
}
