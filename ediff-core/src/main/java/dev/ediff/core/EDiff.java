package dev.ediff.core;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Progress;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.random.SeededNoise;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The entry point: a diffusion pipeline over a {@link RoutingTree} of experts.
 *
 * <pre>{@code
 * try (EDiff ediff = EDiff.builder(tree, TensorShape.of(3, 32, 32)).build()) {
 *     Generation g = ediff.generate(Request.prompt("a red circle").seed(42)
 *             .sampler(Samplers.heun(), 20).guidance(3.0).build());
 * }
 * }</pre>
 *
 * <p>Thread-safe: several threads may generate at once. {@link #close} waits for running
 * generations, then releases the resources the pipeline owns.
 */
public final class EDiff implements AutoCloseable {

    private static final String STAGE = "base";

    private final RoutingTree tree;
    private final TensorShape sampleShape;
    private final Sampler defaultSampler;
    private final int defaultSteps;
    private final NoiseSchedule defaultSchedule;
    private final Guidance defaultGuidance;
    private final List<AutoCloseable> owned;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private EDiff(Builder b) {
        this.tree = b.tree;
        this.sampleShape = b.sampleShape;
        this.defaultSampler = b.sampler;
        this.defaultSteps = b.steps;
        this.defaultSchedule = b.schedule;
        this.defaultGuidance = b.guidance;
        this.owned = List.copyOf(b.owned);
    }

    /**
     * A pipeline builder.
     *
     * @param tree        the experts
     * @param sampleShape the shape of one sample, {@code [1, C, H, W]}
     */
    public static Builder builder(RoutingTree tree, TensorShape sampleShape) {
        return new Builder(tree, sampleShape);
    }

    /** The routing tree. */
    public RoutingTree routingTree() {
        return tree;
    }

    /** The shape of one sample. */
    public TensorShape sampleShape() {
        return sampleShape;
    }

    /**
     * Generates {@code request.count()} samples in one batch.
     *
     * @throws IllegalArgumentException for a request that does not fit this pipeline (the message says why)
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
        long start = System.nanoTime();
        int count = request.count();
        TensorShape shape = sampleShape.withBatch(count);
        int d = sampleShape.sampleSize();
        Sampler sampler = request.sampler().orElse(defaultSampler);
        int steps = request.steps().orElse(defaultSteps);
        NoiseSchedule schedule = request.schedule().orElse(defaultSchedule);
        Guidance guidance = request.guidance().orElse(defaultGuidance);
        double[] sigmas = Schedules.validate(schedule.sigmas(steps).clone());
        if (sigmas.length != steps + 1) {
            throw new IllegalArgumentException("schedule returned " + sigmas.length + " sigmas for " + steps
                    + " steps; expected " + (steps + 1));
        }
        long first = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
        long[] seeds = new long[count];
        for (int i = 0; i < count; i++) {
            seeds[i] = first + i;
        }
        double[] x = request.initialNoise().orElseGet(() -> SeededNoise.initial(seeds, d));
        if (x.length != shape.size()) {
            throw new IllegalArgumentException("initial noise has " + x.length + " values; this model needs "
                    + shape.size() + " for shape " + shape + " (count x C x H x W)");
        }
        for (int i = 0; i < x.length; i++) {
            x[i] *= sigmas[0];
        }
        Conditioning cond = fitBatch("conditioning", request.conditioning().orElse(Conditioning.NONE), count);
        Conditioning uncond = fitBatch("unconditioning", request.unconditioning().orElse(Conditioning.NONE), count);
        List<Conditioning> branches = guidance.scale() == 1.0 ? List.of(cond) : List.of(uncond, cond);
        double[] scales = guidance.scale() == 1.0 ? new double[0] : new double[] {guidance.scale()};
        NoiseSource noise = request.noiseSource().orElseGet(() -> SeededNoise.sampler(seeds, d));
        CancellationToken token = request.cancellation();

        try (GuidedDenoiser model = new GuidedDenoiser(tree, shape, branches, scales, guidance, token);
             AutoCloseable ignored = token.onCancel(model::abortRunning)) {
            sampler.sample(model, x, sigmas, noise, (i, sigma, xi, denoised) -> {
                request.stepObserver().onStep(i, sigma, xi, denoised);
                request.progress().onProgress(new Progress(STAGE, i, steps, model.evaluations().size(), sigma,
                        model.lastExpert(), Duration.ofNanos(System.nanoTime() - start)));
            });
            if (Thread.currentThread().isInterrupted()) {
                throw new CancelledException("generation interrupted");
            }
            List<Sample> samples = new ArrayList<>(count);
            for (int b = 0; b < count; b++) {
                samples.add(new Sample(seeds[b], sampleShape, Arrays.copyOfRange(x, b * d, (b + 1) * d)));
            }
            return new Generation(samples, sampler.name(), steps, sigmas, model.evaluations(),
                    Duration.ofNanos(System.nanoTime() - start), Duration.ofNanos(model.modelNanos()));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("unexpected failure closing a cancellation hook", e);
        }
    }

    private static Conditioning fitBatch(String what, Conditioning c, int count) {
        if (c.isEmpty() || c.batch() == count) {
            return c;
        }
        if (c.batch() == 1) {
            return c.repeatBatch(count);
        }
        throw new IllegalArgumentException(what + " has batch " + c.batch() + "; it must be 1 (shared) or "
                + count + " (one per image)");
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
        private final RoutingTree tree;
        private final TensorShape sampleShape;
        private Sampler sampler = Samplers.heun();
        private int steps = 20;
        private NoiseSchedule schedule = Schedules.edm();
        private Guidance guidance = Guidance.NONE;
        private final List<AutoCloseable> owned = new ArrayList<>();

        private Builder(RoutingTree tree, TensorShape sampleShape) {
            this.tree = Objects.requireNonNull(tree, "tree");
            this.sampleShape = Objects.requireNonNull(sampleShape, "sampleShape");
            if (sampleShape.batch() != 1) {
                throw new IllegalArgumentException("sampleShape is the shape of one sample: batch must be 1, got "
                        + sampleShape);
            }
        }

        /** The sampler and steps used when a request names none (default: Heun, 20 steps). */
        public Builder defaultSampler(Sampler sampler, int steps) {
            this.sampler = Objects.requireNonNull(sampler, "sampler");
            if (steps < 1) {
                throw new IllegalArgumentException("steps must be >= 1, got " + steps);
            }
            this.steps = steps;
            return this;
        }

        /** The schedule used when a request names none (default: EDM's Karras schedule). */
        public Builder defaultSchedule(NoiseSchedule schedule) {
            this.schedule = Objects.requireNonNull(schedule, "schedule");
            return this;
        }

        /** The guidance used when a request names none (default: none). */
        public Builder defaultGuidance(Guidance guidance) {
            this.guidance = Objects.requireNonNull(guidance, "guidance");
            return this;
        }

        /** A resource the pipeline closes when it is closed (in reverse order of adding). */
        public Builder owning(AutoCloseable resource) {
            owned.add(Objects.requireNonNull(resource, "resource"));
            return this;
        }

        public EDiff build() {
            return new EDiff(this);
        }
    }
}
