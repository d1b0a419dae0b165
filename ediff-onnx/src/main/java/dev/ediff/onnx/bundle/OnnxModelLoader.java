package dev.ediff.onnx.bundle;

import dev.ediff.api.LoadOptions;
import dev.ediff.core.EDiff;
import dev.ediff.core.ModelLoader;
import dev.ediff.onnx.SessionConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@link ModelLoader} for ONNX bundles, found by {@link java.util.ServiceLoader}; maps
 * {@link LoadOptions} onto a {@link SessionConfig}.
 */
public final class OnnxModelLoader implements ModelLoader {

    @Override
    public boolean accepts(Path dir) {
        return Files.isRegularFile(dir.resolve(Manifest.FILE));
    }

    @Override
    public EDiff open(Path dir, LoadOptions options) {
        return ModelBundle.open(dir, SessionConfig.of(options));
    }

    @Override
    public Optional<EDiff> openDefault(LoadOptions options) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : OnnxModelLoader.class.getClassLoader();
        if (cl.getResource(ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + Manifest.FILE) == null) {
            return Optional.empty();
        }
        return Optional.of(ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, SessionConfig.of(options)));
    }
}
