package dev.ediff.api;

/** Receives a {@link Progress} for every denoiser evaluation, on the generating thread. Keep it fast. */
@FunctionalInterface
public interface ProgressListener {

    /**
     * Called for every denoiser evaluation.
     *
     * @param progress where the generation is
     */
    void onProgress(Progress progress);

    /** Ignores everything. */
    ProgressListener NONE = p -> { };
}
