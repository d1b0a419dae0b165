package dev.ediff.onnx.bundle;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Denoiser;
import dev.ediff.api.Expert;
import dev.ediff.api.ExpertProvider;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Request;
import dev.ediff.api.RoutedEvaluation;
import dev.ediff.api.Sampler;
import dev.ediff.api.StepCallback;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A manifest routes an interval to a Java expert named by an {@link ExpertProvider} (this test's,
 * registered in its resources) in place of an ONNX model.
 */
class ManifestExpertProviderTest {

    /** The experts made, by their {@code label} option, so a test finds its own among parallel ones. */
    static final Map<String, Scaled> MADE = new ConcurrentHashMap<>();

    /** Makes {@code test_scaled}: {@code D(x) = scale * x}, ignoring the conditioning; {@code interrupt: true} interrupts the creating thread. */
    public static final class Provider implements ExpertProvider {

        /** For {@link java.util.ServiceLoader}. */
        public Provider() {
        }

        @Override
        public Set<String> names() {
            return Set.of("test_scaled");
        }

        @Override
        public Expert create(String name, Map<String, String> options) {
            for (String k : options.keySet()) {
                if (!Set.of("scale", "label", "interrupt").contains(k)) {
                    throw new IllegalArgumentException("test_scaled has no option '" + k + "'; options: scale, label,"
                            + " interrupt");
                }
            }
            if (Boolean.parseBoolean(options.get("interrupt"))) {
                Thread.currentThread().interrupt(); // as if the opening thread were interrupted right now
            }
            Scaled e = new Scaled(Double.parseDouble(options.getOrDefault("scale", "0.5")));
            MADE.put(options.getOrDefault("label", ""), e);
            return e;
        }
    }

    /** A closeable Java expert that remembers the sigmas it saw and whether it was closed. */
    static final class Scaled implements Expert, AutoCloseable {
        final double scale;
        final List<Double> sigmas = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean closed = new AtomicBoolean();

        Scaled(double scale) {
            this.scale = scale;
        }

        @Override
        public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
            sigmas.add(sigma);
            for (int k = 0; k < x.length; k++) {
                out[k] = scale * x[k];
            }
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }

    /** One recorded step of a sampling run. */
    record Step(double sigma, double[] x, double[] denoised) {
    }

    /** Euler, recording every step of every run (one run per stage). */
    static final class Recording implements Sampler {
        final List<List<Step>> runs = new ArrayList<>();

        @Override
        public String name() {
            return "euler";
        }

        @Override
        public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
            List<Step> run = new ArrayList<>();
            runs.add(run);
            Samplers.euler().sample(model, x, sigmas, noise, (i, sigma, xi, d) -> {
                run.add(new Step(sigma, xi.clone(), d.clone()));
                callback.onStep(i, sigma, xi, d);
            });
        }
    }

    private static Request request(Sampler sampler) {
        return Request.prompt("a red cat on the hat").seed(5).sampler(sampler, 8).guidance(1.0).build();
    }

    @Test
    void theLowIntervalGoesToTheJavaExpertAndTheRestIsUnchanged(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        Recording plain = new Recording();
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            e.generate(request(plain));
        }

        String label = "routed-" + System.nanoTime();
        fixture.edit(m -> {
            var low = fixture.expert(0, 0);
            low.remove("model");
            low.put("name", "java_low").put("provider", "test_scaled");
            low.putObject("options").put("scale", 0.75).put("label", label);
        });
        assertEquals(Map.of("scale", "0.75", "label", label),
                ModelBundle.manifest(fixture.dir).stages().get(0).experts().get(0).options());
        Recording routed = new Recording();
        Generation g;
        Scaled java;
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            java = MADE.get(label);
            g = e.generate(request(routed));
            assertTrue(!java.closed.get(), "open while the pipeline is");
        }
        assertTrue(java.closed.get(), "the pipeline closes the closeable Java expert it made");

        Set<String> used = new HashSet<>();
        for (RoutedEvaluation ev : g.stage("base").evaluations()) {
            String expected = ev.sigma() < FixtureBundle.BASE_SPLIT_LO ? "java_low"
                    : ev.sigma() < FixtureBundle.BASE_SPLIT_HI ? "mid" : "high";
            assertEquals(expected, ev.expert(), "sigma " + ev.sigma());
            used.add(ev.expert());
        }
        assertEquals(Set.of("java_low", "mid", "high"), used, "the 8-step schedule visits all three intervals");
        assertTrue(!java.sigmas.isEmpty() && java.sigmas.stream().allMatch(s -> s < FixtureBundle.BASE_SPLIT_LO),
                "the Java expert sees only sigmas below the split: " + java.sigmas);

        List<Step> a = plain.runs.get(0);
        List<Step> b = routed.runs.get(0);
        assertEquals(a.size(), b.size());
        int above = 0;
        int below = 0;
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).sigma(), b.get(i).sigma());
            if (a.get(i).sigma() >= FixtureBundle.BASE_SPLIT_LO) {
                assertArrayEquals(a.get(i).x(), b.get(i).x(), "x at step " + i);
                assertArrayEquals(a.get(i).denoised(), b.get(i).denoised(), "denoised at step " + i);
                above++;
            } else {
                double[] x = b.get(i).x();
                double[] expected = new double[x.length];
                for (int k = 0; k < x.length; k++) {
                    expected[k] = 0.75 * x[k];
                }
                assertArrayEquals(expected, b.get(i).denoised(), "the Java expert's estimate at step " + i);
                below++;
            }
        }
        assertTrue(above > 0 && below > 0, above + " steps above the split, " + below + " below");
    }

    @Test
    void anUnknownProviderIsAOneLineErrorListingTheKnownOnes(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        fixture.edit(m -> {
            fixture.expert(0, 0).remove("model");
            fixture.expert(0, 0).put("provider", "no_such_expert");
        });
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
        assertTrue(e.getMessage().contains("stages[0].experts[0].provider 'no_such_expert' is unknown"), e.getMessage());
        assertTrue(e.getMessage().contains("[test_scaled]"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void modelAndProviderTogetherOrNeitherAreErrors(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        fixture.edit(m -> fixture.expert(0, 1).put("provider", "test_scaled"));
        BundleException both = assertThrows(BundleException.class, () -> ModelBundle.manifest(fixture.dir));
        assertTrue(both.getMessage().contains("stages[0].experts[1] gives both 'model' and 'provider'"), both.getMessage());
        assertTrue(both.getMessage().contains("[test_scaled]"), both.getMessage());

        fixture.edit(m -> {
            fixture.expert(0, 1).remove("provider");
            fixture.expert(0, 1).remove("model");
        });
        BundleException neither = assertThrows(BundleException.class, () -> ModelBundle.manifest(fixture.dir));
        assertTrue(neither.getMessage().contains("stages[0].experts[1] gives neither 'model' nor 'provider'"),
                neither.getMessage());
    }

    @Test
    void aBadOptionNamesTheExpertAndOptionsForAModelAreRejected(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        fixture.edit(m -> {
            fixture.expert(1, 0).remove("model");
            fixture.expert(1, 0).put("provider", "test_scaled").putObject("options").put("gain", 2);
        });
        BundleException bad = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
        assertTrue(bad.getMessage().contains("stages[1].experts[0] (provider 'test_scaled'"), bad.getMessage());
        assertTrue(bad.getMessage().contains("no option 'gain'"), bad.getMessage());

        fixture.reset();
        fixture.edit(m -> fixture.expert(0, 2).putObject("options").put("scale", 1));
        BundleException forModel = assertThrows(BundleException.class, () -> ModelBundle.manifest(fixture.dir));
        assertTrue(forModel.getMessage().contains("stages[0].experts[2].options is only for a 'provider' expert"),
                forModel.getMessage());
    }
}
