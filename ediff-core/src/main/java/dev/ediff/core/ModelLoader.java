package dev.ediff.core;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens model bundles for {@link EDiff#open(Path)} and {@link EDiff#openDefault()}; backends
 * (ediff-onnx) provide one through {@link java.util.ServiceLoader}, so the core needs no backend.
 */
public interface ModelLoader {

    /**
     * Whether this loader understands the bundle in {@code dir}.
     *
     * @param dir a folder
     * @return true when {@link #open} can open it
     */
    boolean accepts(Path dir);

    /**
     * Opens the bundle in {@code dir}.
     *
     * @param dir the bundle folder
     * @return the pipeline; the caller closes it
     */
    EDiff open(Path dir);

    /** {@return the default bundle found on the classpath, opened, if this loader finds one} */
    Optional<EDiff> openDefault();
}
