package dev.ediff.onnx.bundle;

import dev.ediff.api.EDiffException;
import dev.ediff.api.LoadOptions;
import dev.ediff.core.EDiff;
import dev.ediff.core.ModelLoader;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.diffusers.DiffusersPipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@link ModelLoader} for ONNX bundles and diffusers folders, found by
 * {@link java.util.ServiceLoader}: a folder with a {@code manifest.json} opens as a bundle (its
 * {@link LoadOptions} mapped onto a {@link SessionConfig}), one with a {@code model_index.json} as
 * a {@link DiffusersPipeline}.
 */
public final class OnnxModelLoader implements ModelLoader {

    @Override
    public boolean accepts(Path dir) {
        return Files.isRegularFile(dir.resolve(Manifest.FILE)) || Files.isRegularFile(dir.resolve("model_index.json"));
    }

    @Override
    public EDiff open(Path dir, LoadOptions options) {
        if (!Files.isRegularFile(dir.resolve(Manifest.FILE)) && Files.isRegularFile(dir.resolve("model_index.json"))) {
            return DiffusersPipeline.open(dir, options);
        }
        refuseClipSkip(dir.toString(), options);
        return ModelBundle.open(dir, SessionConfig.of(options), options.memory());
    }

    @Override
    public Optional<EDiff> openWithRefiner(Path base, Path refiner, LoadOptions options) {
        if (!Files.isRegularFile(base.resolve("model_index.json"))) {
            return Optional.empty();
        }
        return Optional.of(DiffusersPipeline.open(base, refiner, options));
    }

    @Override
    public Optional<EDiff> openDefault(LoadOptions options) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : OnnxModelLoader.class.getClassLoader();
        if (cl.getResource(ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + Manifest.FILE) == null) {
            return Optional.empty();
        }
        refuseClipSkip("the default model", options);
        return Optional.of(ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, SessionConfig.of(options),
                options.memory()));
    }

    /** Bundles' text encoders output one layer: clip skip is for diffusers folders. */
    private static void refuseClipSkip(String what, LoadOptions options) {
        if (options.clipSkip() != 0) {
            throw new EDiffException(what + ": clip skip " + options.clipSkip() + " needs CLIP encoders that export their"
                    + " hidden states (SDXL and SD3 diffusers folders); a bundle's text encoders give one layer, so use"
                    + " clip skip 0");
        }
    }
}
