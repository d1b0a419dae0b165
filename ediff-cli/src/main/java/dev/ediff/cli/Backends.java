package dev.ediff.cli;

import dev.ediff.onnx.SessionConfig;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;

import java.util.List;

/** The backends the conformance command runs sampler cases with. */
final class Backends {

    private Backends() {
    }

    /** The Java expert (double precision, 1e-9) and the ONNX graph of the same denoiser (float32, 1e-4). */
    static List<ConformanceCommand.Backend> all() {
        return List.of(ConformanceCommand.javaBackend(),
                new ConformanceCommand.Backend("onnx", GaussianMixtureOnnx.factory(SessionConfig.DEFAULT), 1e-4));
    }
}
