package dev.ediff.testkit.bench;

import dev.ediff.api.TensorShape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hot path's Java allocation per step is small and does not grow with the tensor size. */
class StepBenchmarkTest {

    @Test
    void allocationPerStepDoesNotGrowWithTheTensorSize() {
        StepBenchmark.Result small = StepBenchmark.run(TensorShape.of(3, 16, 16), 2, 1, 400, 400);
        StepBenchmark.Result large = StepBenchmark.run(TensorShape.of(3, 64, 64), 2, 1, 400, 400);
        System.out.printf("bytes allocated per step: 3x16x16 %.0f, 3x64x64 %.0f (a 3x64x64 float tensor is %d bytes)%n",
                small.bytesAllocated(), large.bytesAllocated(), 3 * 64 * 64 * 4);
        // A copy of the 3x64x64 input or output would be 49152 bytes (float) or 98304 (double) per step.
        assertTrue(large.bytesAllocated() < 4096, "allocated " + large.bytesAllocated() + " bytes per step");
        assertTrue(Math.abs(large.bytesAllocated() - small.bytesAllocated()) < 1024,
                "allocation grows with the tensor: " + small.bytesAllocated() + " -> " + large.bytesAllocated());
    }
}
