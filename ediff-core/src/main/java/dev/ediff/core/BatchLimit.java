package dev.ediff.core;

import java.util.List;

/**
 * The size bound of one generation's batch. {@link dev.ediff.api.Request#count} alone does not bound
 * memory (64x64 images and 2-D toy samples differ by a factor of 6000), so the number of values of one
 * batch tensor, {@code count x C x H x W} of the largest stage run, is bounded here, before anything is
 * allocated: a request that would run out of heap is refused in one line instead.
 */
public final class BatchLimit {

    /**
     * The most values one batch tensor may hold: 2^25 (33.5 million; 268 MB as doubles). A generation
     * holds several such tensors at once (the state, the denoised estimate, one per guidance branch,
     * the sampler's history), so this keeps a request within a few GB of heap. For 3x64x64 samples it
     * allows 2730 images in one request.
     */
    public static final int MAX_BATCH_VALUES = 1 << 25;

    private BatchLimit() {
    }

    /**
     * Checks that {@code count} samples of every stage up to {@code last} fit {@link #MAX_BATCH_VALUES}.
     *
     * @throws IllegalArgumentException naming the count, the stage, its sample shape and the largest count
     */
    static void check(int count, List<Stage> stages, int last) {
        for (int k = 0; k <= last; k++) {
            Stage s = stages.get(k);
            long size = s.sampleShape().sampleSize();
            if ((long) count * size > MAX_BATCH_VALUES) {
                throw new IllegalArgumentException("count must be at most " + (MAX_BATCH_VALUES / size) + " for stage '"
                        + s.name() + "' (" + size + " values per sample, at most " + MAX_BATCH_VALUES
                        + " per batch), got " + count);
            }
        }
    }
}
