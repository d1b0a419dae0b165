package dev.ediff.model.mini;

import dev.ediff.api.LoadOptions;
import dev.ediff.api.Request;
import dev.ediff.api.StageOptions;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #14: the Java heap a generation allocates does not grow with the batch, apart from the
 * images themselves. The generating thread's allocated bytes (no timing) are measured on the
 * default model at batch 1 and 4, interleaved, and the smallest of three generations of each is
 * kept (a first use of some code path, such as a lambda's class, allocates once and is not what
 * this checks).
 *
 * <p>What each extra image may add: its samples, one {@code double} per value for every stage's
 * output (the {@link dev.ediff.api.Sample}s the generation returns), and the later stages'
 * low-resolution input (the previous stage's image upsampled, one {@code float} per value), plus
 * 32 KB for the per-image objects (samples, seeds, noise streams, list entries; about 11 KB
 * measured, so the margin is about three times that). Before conditioning was shared across the
 * batch each extra image added about 480 KB on this model (the prompt's tensors repeated per image,
 * then again per guidance branch: about 90 KB for each of those four copies), 310 KB above this
 * allowance; the smallest regression it catches is one such copy.
 */
class BatchAllocationTest {

    private static final long MARGIN_PER_IMAGE = 32 * 1024;

    @Test
    void anExtraImageAllocatesItsImagesAndLittleElse() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (EDiff ediff = EDiff.openDefault(LoadOptions.builder().intraOpThreads(1).build())) {
            // Few steps in every stage: the allocation of a step does not depend on the batch.
            Request.Builder rb = Request.prompt("a small red circle above a large blue square").seed(3).steps(3);
            for (int s = 1; s < ediff.stages().size(); s++) {
                rb.stage(ediff.stages().get(s).name(), StageOptions.defaults().steps(2));
            }
            Request one = rb.count(1).build();
            Request four = one.toBuilder().count(4).build();
            for (int w = 0; w < 2; w++) { // the sessions' buffers, pools and caches are made here
                ediff.generate(one);
                ediff.generate(four);
            }
            long min1 = Long.MAX_VALUE;
            long min4 = Long.MAX_VALUE;
            for (int r = 0; r < 3; r++) {
                long a = mx.getCurrentThreadAllocatedBytes();
                ediff.generate(one);
                long b = mx.getCurrentThreadAllocatedBytes();
                ediff.generate(four);
                long c = mx.getCurrentThreadAllocatedBytes();
                min1 = Math.min(min1, b - a);
                min4 = Math.min(min4, c - b);
            }
            long images = 0;
            for (int s = 0; s < ediff.stages().size(); s++) {
                int values = ediff.stages().get(s).sampleShape().sampleSize();
                images += 8L * values + (s > 0 ? 4L * values : 0); // the samples; a later stage's low-res input
            }
            long perImage = (min4 - min1) / 3;
            String numbers = "batch 1: " + min1 + " bytes, batch 4: " + min4 + " bytes, per extra image: " + perImage
                    + " bytes, allowed: " + (images + MARGIN_PER_IMAGE) + " (" + images + " for the images)";
            System.out.println("BatchAllocationTest: " + numbers);
            assertTrue(perImage <= images + MARGIN_PER_IMAGE,
                    "a generation's Java allocation grows with the batch beyond its images: " + numbers);
        }
    }
}
