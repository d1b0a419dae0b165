package dev.ediff.testkit.bench;

import com.sun.management.ThreadMXBean;
import dev.ediff.api.Conditioning;
import dev.ediff.api.TensorShape;
import dev.ediff.core.schedule.Schedules;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.OnnxSession;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Measures one sampling step with the ONNX Gaussian-mixture expert: an Euler step over an
 * {@link OnnxSession} (copy in, {@code session.run}, copy out, sampler update). Reports, per step
 * after warm-up, the model time (inside ONNX Runtime's run), the SDK time (everything else) and the
 * Java bytes allocated by the sampling thread ({@code com.sun.management.ThreadMXBean}).
 *
 * <p>Usage: {@code StepBenchmark [steps=2000] [warmup=2000] [components=8,32] [threads=1] [CxHxW ...]}
 * (default shapes 3x64x64 and 3x32x32; K = mixture components, which sets the model's cost). Targets: SDK time below 5% of model time at 3x64x64 and an
 * allocation per step that does not grow with the tensor size.
 */
public final class StepBenchmark {

    private StepBenchmark() {
    }

    /** One shape's measurements, per step. */
    /**
     * One shape's measurements per step: medians (robust to other processes on the machine) of the
     * model time and of the SDK time, the SDK part spent in the expert adapter (copies and
     * parameterization) and in the sampler update, and the mean bytes allocated.
     */
    public record Result(TensorShape shape, int steps, double modelMicros, double sdkMicros, double adapterMicros,
                         double samplerMicros, double bytesAllocated) {
        /** {@return SDK time as a fraction of model time (medians)} */
        public double sdkShare() {
            return sdkMicros / modelMicros;
        }
    }

    /**
     * Runs the benchmark and prints one line per configuration.
     *
     * @param args {@code [steps] [warmup] [components,...] [threads] [CxHxW ...]}, see the class comment
     */
    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        String components = args.length > 2 ? args[2] : "8,32";
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        String[] shapes = args.length > 4 ? java.util.Arrays.copyOfRange(args, 4, args.length)
                : new String[] {"3x64x64", "3x32x32"};
        System.out.printf(Locale.ROOT, "ONNX GMM expert, %d intra-op thread(s), %d Euler steps after %d warm-up (medians per step)%n",
                threads, steps, warmup);
        System.out.printf(Locale.ROOT, "%-10s %3s %10s %10s %10s %12s %12s %12s%n", "shape", "K", "model us", "SDK us",
                "SDK/model", "adapter us", "sampler us", "bytes/step");
        for (String k : components.split(",")) {
            for (String s : shapes) {
                String[] p = s.split("x");
                TensorShape shape = TensorShape.of(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
                Result r = run(shape, Integer.parseInt(k.trim()), threads, steps, warmup);
                System.out.printf(Locale.ROOT, "%-10s %3s %10.1f %10.2f %9.2f%% %12.2f %12.2f %12.1f%n", s, k.trim(),
                        r.modelMicros(), r.sdkMicros(), 100 * r.sdkShare(), r.adapterMicros(), r.samplerMicros(),
                        r.bytesAllocated());
            }
        }
    }

    /**
     * Measures {@code steps} Euler steps at {@code shape} (batch 1) after {@code warmup} steps.
     *
     * @param shape      the sample shape
     * @param components Gaussian components of the ONNX mixture expert
     * @param threads    ONNX Runtime intra-op threads
     * @param steps      steps measured
     * @param warmup     steps run first, not measured
     * @return model time, SDK time and allocation per step
     */
    public static Result run(TensorShape shape, int components, int threads, int steps, int warmup) {
        GaussianMixture mixture = randomMixture(new Random(42), components, shape.sampleSize());
        SessionConfig config = SessionConfig.builder().intraOpThreads(threads).build();
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        try (OnnxExpert expert = GaussianMixtureOnnx.expert("gmm", List.of(mixture), shape, config);
             OnnxSession session = expert.open(shape, Conditioning.NONE)) {
            double[] sigmas = Schedules.edm().sigmas(50);
            double[] x = new double[shape.size()];
            double[] denoised = new double[shape.size()];
            double[] noise = new Random(1).doubles(shape.size()).map(v -> 2 * v - 1).toArray();
            Walk walk = new Walk(session, sigmas, x, denoised, noise, steps);
            walk.steps(warmup);
            walk.record = true;
            long bytes0 = mx.getThreadAllocatedBytes(thread);
            walk.steps(steps);
            long bytes = mx.getThreadAllocatedBytes(thread) - bytes0;
            long[] sdk = new long[steps];
            for (int k = 0; k < steps; k++) {
                sdk[k] = walk.total[k] - walk.model[k];
            }
            return new Result(shape, steps, median(walk.model) / 1e3, median(sdk) / 1e3, median(walk.adapter) / 1e3,
                    median(walk.sampler) / 1e3, (double) bytes / steps);
        }
    }

    private static double median(long[] values) {
        long[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2.0;
    }

    /** Euler steps down a schedule, restarting from fresh noise at its end; records per-step times without allocating. */
    private static final class Walk {
        private final OnnxSession session;
        private final double[] sigmas;
        private final double[] x;
        private final double[] denoised;
        private final double[] noise;
        final long[] total;
        final long[] model;
        final long[] adapter;
        final long[] sampler;
        boolean record;
        private int i = -1;

        Walk(OnnxSession session, double[] sigmas, double[] x, double[] denoised, double[] noise, int steps) {
            this.session = session;
            this.sigmas = sigmas;
            this.x = x;
            this.denoised = denoised;
            this.noise = noise;
            total = new long[steps];
            model = new long[steps];
            adapter = new long[steps];
            sampler = new long[steps];
        }

        void steps(int n) {
            for (int k = 0; k < n; k++) {
                if (i < 0 || i == sigmas.length - 2) {
                    i = 0;
                    for (int j = 0; j < x.length; j++) {
                        x[j] = noise[j] * sigmas[0];
                    }
                }
                double sigma = sigmas[i];
                double next = sigmas[i + 1];
                long m0 = session.modelNanos();
                long t0 = System.nanoTime();
                session.denoise(x, sigma, denoised);
                long t1 = System.nanoTime();
                double h = (next - sigma) / sigma;
                for (int j = 0; j < x.length; j++) {
                    x[j] += h * (x[j] - denoised[j]);
                }
                long t2 = System.nanoTime();
                if (record) {
                    model[k] = session.modelNanos() - m0;
                    total[k] = t2 - t0;
                    adapter[k] = t1 - t0 - model[k];
                    sampler[k] = t2 - t1;
                }
                i++;
            }
        }
    }

    private static GaussianMixture randomMixture(Random rnd, int k, int d) {
        double[] w = new double[k];
        double[][] mu = new double[k][d];
        double[] s = new double[k];
        for (int c = 0; c < k; c++) {
            w[c] = 1 + rnd.nextDouble();
            s[c] = 0.1 + 0.3 * rnd.nextDouble();
            for (int j = 0; j < d; j++) {
                mu[c][j] = 2 * rnd.nextDouble() - 1;
            }
        }
        return new GaussianMixture(w, mu, s);
    }
}
