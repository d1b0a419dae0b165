package dev.ediff.core.sampling;

import dev.ediff.api.Denoiser;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Sampler;
import dev.ediff.api.SamplerProvider;
import dev.ediff.api.StepCallback;

import java.util.Map;
import java.util.Set;

/**
 * A test-only {@link SamplerProvider} registered in the test resources: {@code damped_euler(damping)},
 * Euler with each step scaled by {@code damping} (1 = Euler).
 */
public final class TestSamplers implements SamplerProvider {

    /** For {@link java.util.ServiceLoader}. */
    public TestSamplers() {
    }

    @Override
    public Set<String> names() {
        return Set.of("damped_euler");
    }

    @Override
    public Sampler create(String name, Map<String, String> options) {
        for (String k : options.keySet()) {
            if (!k.equals("damping")) {
                throw new IllegalArgumentException("damped_euler has no option '" + k + "'");
            }
        }
        return new DampedEuler(Double.parseDouble(options.getOrDefault("damping", "1.0")));
    }

    /** Euler with a step factor. */
    record DampedEuler(double damping) implements Sampler {

        @Override
        public String name() {
            return "damped_euler";
        }

        @Override
        public Map<String, String> options() {
            return Map.of("damping", Double.toString(damping));
        }

        @Override
        public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
            double[] den = new double[x.length];
            for (int i = 0; i + 1 < sigmas.length; i++) {
                model.denoise(x, sigmas[i], den);
                callback.onStep(i, sigmas[i], x, den);
                double h = damping * (sigmas[i + 1] - sigmas[i]) / sigmas[i];
                for (int j = 0; j < x.length; j++) {
                    x[j] += h * (x[j] - den[j]);
                }
            }
        }
    }
}
