package dev.ediff.onnx.bundle;

import dev.ediff.core.EDiff;
import dev.ediff.core.ModelLoader;
import dev.ediff.onnx.SessionConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The {@link ModelLoader} for ONNX bundles, found by {@link java.util.ServiceLoader}. */
public final class OnnxModelLoader implements ModelLoader {

    @Override
    public boolean accepts(Path dir) {
        return Files.isRegularFile(dir.resolve(Manifest.FILE));
    }

    @Override
    public EDiff open(Path dir) {
        return ModelBundle.open(dir);
    }

    @Override
    public Optional<EDiff> openDefault() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : OnnxModelLoader.class.getClassLoader();
        if (cl.getResource(ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + Manifest.FILE) == null) {
            return Optional.empty();
        }
        return Optional.of(ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, SessionConfig.DEFAULT));
    }
}
