package dev.ediff.testkit.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.EDiffBuilder;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.Schedules;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Replays {@link SamplerCase}s through the public API ({@link EDiff#generate}) with experts made by
 * an {@link ExpertFactory} (a Java or an ONNX Gaussian-mixture denoiser), and compares the result
 * element-wise: {@code |actual - expected| <= tolerance * max(1, |expected|)}, plus exact NFE and
 * number of noise tensors consumed.
 */
public final class ConformanceRunner {

    /** Makes the exact denoiser of class-conditional mixtures (class from {@link GaussianMixtureExpert#LABEL}). */
    @FunctionalInterface
    public interface ExpertFactory {
        /**
         * Creates the expert of a case. The caller closes the expert if it is {@link AutoCloseable}.
         *
         * @param name            the expert's name
         * @param mixturesByClass the mixtures it denoises, indexed by class label
         * @param sampleShape     the shape of one sample
         * @return the expert
         */
        Expert create(String name, List<GaussianMixture> mixturesByClass, TensorShape sampleShape);
    }

    /** The outcome of one case. */
    public record Result(String name, boolean passed, double maxError, String detail) {
    }

    private final ExpertFactory factory;
    private final double tolerance;

    /**
     * @param factory   makes the experts
     * @param tolerance relative tolerance (1e-9 for double-precision experts, 1e-4 for float32)
     */
    public ConformanceRunner(ExpertFactory factory, double tolerance) {
        this.factory = factory;
        this.tolerance = tolerance;
    }

    /**
     * The sampler a case names, with its options.
     *
     * @param name    the case's sampler name
     * @param options the case's sampler options
     * @return the sampler
     */
    public static Sampler sampler(String name, JsonNode options) {
        return switch (name) {
            case "euler" -> {
                requireNoChurn(name, options);
                yield Samplers.euler();
            }
            case "heun" -> Samplers.heun(options.path("s_churn").asDouble(0), options.path("s_tmin").asDouble(0),
                    options.path("s_tmax").asDouble(Double.POSITIVE_INFINITY), options.path("s_noise").asDouble(1));
            case "dpm_2" -> {
                requireNoChurn(name, options);
                yield Samplers.dpm2();
            }
            case "lms" -> Samplers.lms(options.path("order").asInt(4));
            case "dpmpp_2m" -> Samplers.dpmSolverPP2M();
            case "euler_ancestral" -> Samplers.eulerAncestral(options.path("eta").asDouble(1),
                    options.path("s_noise").asDouble(1));
            case "dpmpp_2m_sde" -> {
                String solver = options.path("solver_type").asText("midpoint");
                if (!solver.equals("midpoint")) {
                    throw new IllegalArgumentException("dpmpp_2m_sde solver_type '" + solver + "' is not supported (midpoint)");
                }
                yield Samplers.dpmSolverPP2MSde(options.path("eta").asDouble(1), options.path("s_noise").asDouble(1));
            }
            default -> Samplers.byName(name);
        };
    }

    private static void requireNoChurn(String name, JsonNode options) {
        if (options.path("s_churn").asDouble(0) != 0) {
            throw new IllegalArgumentException(name + " with s_churn > 0 is not supported");
        }
    }

    /**
     * Runs one case. Never throws for a failing case: the failure is in the result.
     *
     * @param c the case
     * @return whether it passed, its largest error and what failed
     */
    public Result run(SamplerCase c) {
        RoutingTree tree;
        EDiffBuilder pipeline;
        TensorShape sampleShape = c.shape().withBatch(1);
        Request.Builder request = Request.builder()
                .count(c.shape().batch())
                .sampler(sampler(c.sampler(), c.options()), c.sigmas().length - 1)
                .schedule(Schedules.explicit(c.sigmas()));
        java.util.ArrayList<AutoCloseable> toClose = new java.util.ArrayList<>();
        try {
            switch (c.denoiser()) {
                case "gmm" -> tree = RoutingTree.single(make("gmm", List.of(c.gmm()), sampleShape, toClose));
                case "experts" -> {
                    RoutingTree.Builder b = RoutingTree.builder();
                    int i = 0;
                    for (SamplerCase.ExpertSpec e : c.experts()) {
                        b.expert(e.interval(), make("expert" + i++, List.of(e.gmm()), sampleShape, toClose));
                    }
                    tree = b.build();
                }
                case "cfg" -> {
                    tree = RoutingTree.single(make("cfg", List.of(c.cfg().uncond(), c.cfg().cond()), sampleShape, toClose));
                    request.conditioning(GaussianMixtureExpert.label(1, 1))
                            .unconditioning(GaussianMixtureExpert.label(0, 1))
                            .guidance(Guidance.of(c.cfg().scale()));
                }
                default -> throw new IllegalArgumentException("unknown denoiser " + c.denoiser());
            }
            pipeline = EDiff.builder(tree, sampleShape);
            toClose.forEach(pipeline::owning);
            toClose.clear();
        } catch (RuntimeException e) {
            closeAll(toClose);
            return new Result(c.name(), false, Double.NaN, "setup failed: " + e.getMessage());
        }

        double s0 = c.sigmas()[0];
        double[] noise = c.xInit().clone();
        for (int i = 0; i < noise.length; i++) {
            noise[i] /= s0;
        }
        int[] noiseCalls = {0};
        NoiseSource source = out -> {
            if (noiseCalls[0] >= c.noiseSequence().size()) {
                noiseCalls[0]++;
                throw new IllegalStateException("sampler asked for noise tensor " + noiseCalls[0]
                        + " but the case holds " + c.noiseSequence().size());
            }
            System.arraycopy(c.noiseSequence().get(noiseCalls[0]++), 0, out, 0, out.length);
        };
        Map<Integer, double[]> denoised = new HashMap<>();
        request.initialNoise(noise).noiseSource(source).onStep((step, sigma, x, d) -> {
            if (c.denoisedPerStep().containsKey(step)) {
                denoised.put(step, d.clone());
            }
        });
        try (EDiff ediff = pipeline.build()) {
            Generation g = ediff.generate(request.build());
            double[] actual = new double[c.xFinal().length];
            int d = sampleShape.sampleSize();
            for (int b = 0; b < g.samples().size(); b++) {
                System.arraycopy(g.sample(b).data(), 0, actual, b * d, d);
            }
            double err = maxError(actual, c.xFinal());
            StringBuilder problems = new StringBuilder();
            for (Map.Entry<Integer, double[]> e : c.denoisedPerStep().entrySet()) {
                double[] got = denoised.get(e.getKey());
                if (got == null) {
                    problems.append(" no denoised output seen at step ").append(e.getKey()).append(';');
                } else {
                    err = Math.max(err, maxError(got, e.getValue()));
                }
            }
            if (g.nfe() != c.nfe()) {
                problems.append(" nfe ").append(g.nfe()).append(" != expected ").append(c.nfe()).append(';');
            }
            if (noiseCalls[0] != c.noiseSequence().size()) {
                problems.append(" consumed ").append(noiseCalls[0]).append(" noise tensors, expected ")
                        .append(c.noiseSequence().size()).append(';');
            }
            if (!(err <= tolerance)) {
                problems.append(" max error ").append(err).append(" > tolerance ").append(tolerance).append(';');
            }
            return new Result(c.name(), problems.length() == 0, err, problems.toString().trim());
        } catch (RuntimeException e) {
            return new Result(c.name(), false, Double.NaN, "failed: " + e);
        }
    }

    private Expert make(String name, List<GaussianMixture> mixtures, TensorShape shape, List<AutoCloseable> toClose) {
        Expert e = factory.create(name, mixtures, shape);
        if (e instanceof AutoCloseable a) {
            toClose.add(a);
        }
        return e;
    }

    private static void closeAll(List<AutoCloseable> resources) {
        for (AutoCloseable a : resources) {
            try {
                a.close();
            } catch (Exception ignored) {
                // best effort while reporting a setup failure
            }
        }
    }

    /**
     * The largest relative error: max over i of {@code |a_i - e_i| / max(1, |e_i|)}.
     *
     * @param actual   the values computed
     * @param expected the reference values
     * @return the error; infinite on a length mismatch or NaN
     */
    public static double maxError(double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            return Double.POSITIVE_INFINITY;
        }
        double m = 0;
        for (int i = 0; i < actual.length; i++) {
            double e = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
            if (Double.isNaN(e)) {
                return Double.POSITIVE_INFINITY;
            }
            m = Math.max(m, e);
        }
        return m;
    }
}
