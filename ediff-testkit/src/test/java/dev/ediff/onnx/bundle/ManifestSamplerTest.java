package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.api.Denoiser;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseSource;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.SamplerProvider;
import dev.ediff.api.StepCallback;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A manifest names a sampler of a provider on the classpath (this test's, registered in its resources), or a built-in with options. */
class ManifestSamplerTest {

    /** Makes {@code manifest_euler}: Euler under another name. */
    public static final class Provider implements SamplerProvider {

        /** For {@link java.util.ServiceLoader}. */
        public Provider() {
        }

        @Override
        public Set<String> names() {
            return Set.of("manifest_euler");
        }

        @Override
        public Sampler create(String name, Map<String, String> options) {
            Sampler euler = Samplers.euler();
            return new Sampler() {
                @Override
                public String name() {
                    return "manifest_euler";
                }

                @Override
                public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
                    euler.sample(model, x, sigmas, noise, callback);
                }
            };
        }
    }

    @Test
    void aManifestNamesACustomSamplerOrABuiltInWithOptions(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        fixture.edit(m -> {
            ((ObjectNode) m.get("stages").get(0).get("defaults")).put("sampler", "manifest_euler");
            ((ObjectNode) m.get("stages").get(1).get("defaults")).put("sampler", "euler_ancestral(eta=0.5)");
        });
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertEquals("manifest_euler", e.stages().get(0).defaultSampler().name());
            assertEquals("0.5", e.stages().get(1).defaultSampler().options().get("eta"));
            Generation g = e.generate(Request.prompt("a red cat").seed(2).steps(2).build());
            assertEquals("manifest_euler", g.parameters().get("base.sampler"));
            assertEquals("euler_ancestral(eta=0.5,s_noise=1.0)", g.parameters().get("sr.sampler"));
        }
    }
}
