package dev.ediff.model.mini;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;

/**
 * Run by {@link ModulePathTest} in a JVM whose module path holds ediff-api, ediff-core, ediff-onnx
 * and their dependencies: prints the module EDiff was loaded from and the shape of a generated image.
 */
public final class ModulePathMain {

    private ModulePathMain() {
    }

    /**
     * Opens the default model and generates one 2-step base image.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        System.out.println("module " + EDiff.class.getModule().getName());
        try (EDiff e = EDiff.openDefault()) {
            Request r = Request.prompt("a small red circle").seed(1).steps(2).untilStage("base").build();
            System.out.println("shape " + e.generate(r).sample(0).shape());
        }
    }
}
