package dev.ediff.onnx.bundle;

import dev.ediff.api.Device;
import dev.ediff.api.EDiffException;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.ExecutionProvider;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.SessionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.ediff.onnx.bundle.ModelBundleTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code EDiff.open(dir, LoadOptions)} on a machine without CUDA (this one). */
class LoadOptionsTest {

    @Test
    void devicesParseAndPrint() {
        assertEquals(Device.cpu(), Device.parse("cpu"));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(2), Device.parse(" CUDA:2 "));
        assertEquals("cuda:3", Device.cuda(3).toString());
        assertEquals(Device.cuda(3), Device.parse(Device.cuda(3).toString()));
        for (String bad : new String[] {"gpu", "cuda:-1", "cuda:x", ""}) {
            assertContains(assertThrows(IllegalArgumentException.class, () -> Device.parse(bad)).getMessage(),
                    "cpu, cuda or cuda:N");
        }
        assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1));
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().intraOpThreads(-1));
    }

    @Test
    void loadOptionsMapOntoTheSessionConfig() {
        SessionConfig c = SessionConfig.of(LoadOptions.builder().device(Device.cuda(1)).intraOpThreads(3)
                .allowCpuFallback(true).build());
        assertEquals(ExecutionProvider.cuda(1), c.provider());
        assertEquals(3, c.intraOpThreads());
        assertEquals(true, c.allowCpuFallback());
        assertEquals(SessionConfig.DEFAULT, SessionConfig.of(LoadOptions.DEFAULT));
    }

    @Test
    void bundlesRefuseClipSkip(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().clipSkip(-1));
        EDiffException e = assertThrows(EDiffException.class,
                () -> EDiff.open(fixture.dir, LoadOptions.builder().clipSkip(2).build()).close());
        assertContains(e.getMessage(), fixture.dir.toString(), "clip skip 2", "use clip skip 0");
    }

    @Test
    void cudaWithoutCudaFailsClearlyOrFallsBackToTheSameImagesOnTheCpu(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        LoadOptions cuda = LoadOptions.builder().device(Device.cuda(0)).intraOpThreads(1).build();
        EDiffException e = assertThrows(EDiffException.class, () -> EDiff.open(fixture.dir, cuda).close());
        assertContains(e.getMessage(), "CUDA:0", "could not be used", "onnxruntime_gpu",
                "LoadOptions.builder().allowCpuFallback(true)");
        Request r = Request.prompt("a red cat").seed(9).steps(3).untilStage("base").build();
        try (EDiff onCpu = EDiff.open(fixture.dir, LoadOptions.builder().intraOpThreads(1).build());
             EDiff fellBack = EDiff.open(fixture.dir, LoadOptions.builder().device(Device.cuda(0)).intraOpThreads(1)
                     .allowCpuFallback(true).build())) {
            for (OnnxExpert x : DerivedBundleTest.onnxExperts(fellBack)) {
                assertEquals(ExecutionProvider.cpu(), x.provider(), x.name());
            }
            assertArrayEquals(onCpu.generate(r).sample(0).data(), fellBack.generate(r).sample(0).data());
        }
    }

    /** Every network of a bundle fails CUDA for the same reason: one warning line, not one per network. */
    @Test
    void aCudaFallbackWarnsOncePerReason(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        LoadOptions cuda = LoadOptions.builder().device(Device.cuda(0)).intraOpThreads(1).allowCpuFallback(true).build();
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        dev.ediff.onnx.internal.SessionOpener.forgetWarnings();
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        int networks;
        try {
            try (EDiff first = EDiff.open(fixture.dir, cuda)) {
                networks = DerivedBundleTest.onnxExperts(first).size();
            }
            EDiff.open(fixture.dir, cuda).close();
        } finally {
            System.setErr(err);
        }
        long warnings = captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains("falling back to the CPU")).count();
        org.junit.jupiter.api.Assertions.assertTrue(networks > 1, "the fixture has several networks: " + networks);
        assertEquals(1, warnings, captured.toString(java.nio.charset.StandardCharsets.UTF_8));
    }
}
