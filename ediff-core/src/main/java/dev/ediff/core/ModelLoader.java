package dev.ediff.core;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens model bundles for {@link EDiff#open(Path)} and {@link EDiff#openDefault()}; backends
 * (ediff-onnx) provide one through {@link java.util.ServiceLoader}, so the core needs no backend.
 */
public interface ModelLoader {

    /** True when this loader understands the bundle in {@code dir}. */
    boolean accepts(Path dir);

    /** Opens the bundle in {@code dir}. */
    EDiff open(Path dir);

    /** Opens the default bundle found on the classpath, if this loader finds one. */
    Optional<EDiff> openDefault();
}
