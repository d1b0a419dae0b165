package dev.ediff.core;

import dev.ediff.api.LoadOptions;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens model bundles for {@link EDiff#open(Path, LoadOptions)} and
 * {@link EDiff#openDefault(LoadOptions)}; backends (ediff-onnx) provide one through
 * {@link java.util.ServiceLoader}, so the core needs no backend.
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
     * @param dir     the bundle folder
     * @param options device, threads, CPU fallback
     * @return the pipeline
     */
    EDiff open(Path dir, LoadOptions options);

    /**
     * Opens the default bundle found on the classpath, if this loader finds one.
     *
     * @param options device, threads, CPU fallback
     * @return the pipeline, or empty when there is no default bundle
     */
    Optional<EDiff> openDefault(LoadOptions options);

    /**
     * Opens a base model and the refiner that continues its samples at low noise as one pipeline,
     * if this loader understands the pair (ediff-onnx: an SDXL base and refiner in diffusers folders).
     *
     * @param base    the base model's folder
     * @param refiner the refiner's folder
     * @param options device, threads, CPU fallback
     * @return the pipeline, or empty when this loader does not understand the pair
     */
    default Optional<EDiff> openWithRefiner(Path base, Path refiner, LoadOptions options) {
        return Optional.empty();
    }
}
