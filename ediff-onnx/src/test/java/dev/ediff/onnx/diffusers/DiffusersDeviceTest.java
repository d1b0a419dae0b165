package dev.ediff.onnx.diffusers;

import dev.ediff.api.Device;
import dev.ediff.api.EDiffException;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.onnx.ExecutionProvider;
import dev.ediff.onnx.SessionConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code LoadOptions.device} on a diffusers folder, on this machine without CUDA: the same road as a
 * bundle's (the CUDA provider is tried for real): without the fallback a clear error naming the
 * graph and what to do; with it, the CPU, the same image as asked for the CPU, and after the
 * first graph falls back the rest open on the CPU directly (one warning line, not one per graph).
 */
class DiffusersDeviceTest {

    @Test
    void cudaWithoutCudaFailsClearly() {
        EDiffException e = assertThrows(EDiffException.class, () -> EDiff.open(References.folder("sd15"),
                LoadOptions.builder().device(Device.cuda(0)).intraOpThreads(1).build()).close());
        for (String part : new String[] {"model.onnx", "CUDA:0", "could not be used", "onnxruntime_gpu",
                "allowCpuFallback(true)"}) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
        }
    }

    @Test
    void cudaFallsBackToTheCpuOnceForTheWholeFolder() {
        GraphSessions sessions = new GraphSessions(SessionConfig.builder().provider(ExecutionProvider.cuda(0))
                .allowCpuFallback(true).intraOpThreads(1).build());
        ComponentGraph.open(References.folder("sd15").resolve("unet").resolve("model.onnx"), sessions, null, null).close();
        assertEquals(ExecutionProvider.cpu(), sessions.config().provider(), "later graphs open on the CPU directly");

        Request r = Request.prompt("a red cube").seed(3).sampler(Samplers.euler(), 3).build();
        double[] cpu;
        try (EDiff e = EDiff.open(References.folder("sd15"), LoadOptions.builder().intraOpThreads(1).build())) {
            cpu = e.generate(r).sample(0).data();
        }
        try (EDiff e = EDiff.open(References.folder("sd15"), LoadOptions.builder().device(Device.cuda(0))
                .allowCpuFallback(true).intraOpThreads(1).build())) {
            assertArrayEquals(cpu, e.generate(r).sample(0).data());
        }
    }
}
