package dev.ediff.onnx;

import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.ediff.onnx.ContractCheckTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * CUDA on a machine without it: the real outcome of addCUDA decides (the CPU jar throws; the GPU
 * jar without CUDA libraries throws too, though it lists CUDA among its providers).
 */
class ExecutionProviderTest {

    static final TensorShape SAMPLE = TensorShape.of(3, 4, 4);
    static final GaussianMixture POINT = new GaussianMixture(new double[] {1}, new double[][] {new double[48]},
            new double[] {0});

    @Test
    void cudaWithoutFallbackFailsWithAClearMessage() {
        SessionConfig cuda = SessionConfig.builder().provider(ExecutionProvider.cuda(0, 1L << 30)).build();
        EDiffException e = assertThrows(EDiffException.class,
                () -> GaussianMixtureOnnx.expert("gmm", List.of(POINT), SAMPLE, cuda).close());
        System.out.println(e.getMessage());
        assertContains(e.getMessage(), "CUDA execution provider (CUDA:0", "could not be used", "onnxruntime_gpu",
                "CUDA 12", "allowCpuFallback(true)", "gmm");
        System.out.println("available providers: " + NativeLibrary.availableProviders());
    }

    @Test
    void cudaWithFallbackRunsOnTheCpu() {
        SessionConfig cuda = SessionConfig.builder().provider(ExecutionProvider.cuda(1)).allowCpuFallback(true)
                .intraOpThreads(1).build();
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        OnnxExpert opened;
        dev.ediff.onnx.internal.SessionOpener.forgetWarnings(); // said once per reason: another test may have said it
        System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            opened = GaussianMixtureOnnx.expert("gmm", List.of(POINT), SAMPLE, cuda);
        } finally {
            System.setErr(err);
        }
        String warning = log.toString(java.nio.charset.StandardCharsets.UTF_8);
        err.print(warning);
        assertContains(warning, "WARN", "CUDA:1", "falling back to the CPU"); // slf4j-simple writes to System.err
        try (OnnxExpert e = opened) {
            assertEquals(ExecutionProvider.cpu(), e.provider());
            double[] out = new double[48];
            double[] x = new double[48];
            java.util.Arrays.fill(x, 3);
            e.denoise(x, SAMPLE, 1.0, Conditioning.NONE, out);
            assertEquals(0.0, out[0], 1e-7); // a point mass at 0 denoises everything to 0
        }
    }

    @Test
    void cpuIsTheDefault() {
        try (OnnxExpert e = GaussianMixtureOnnx.expert("gmm", List.of(POINT), SAMPLE, SessionConfig.DEFAULT)) {
            assertEquals("CPU", e.provider().describe());
        }
    }

    @Test
    void opensFromAFileAndNamesTheExpertAfterIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("point-mass.onnx");
        java.nio.file.Files.write(file, GaussianMixtureOnnx.model(List.of(POINT), SAMPLE));
        try (OnnxExpert e = OnnxExpert.open(file, GaussianMixtureOnnx.contract(1))) {
            assertEquals("point-mass", e.name());
            double[] out = new double[48];
            e.denoise(new double[48], SAMPLE, 1.0, Conditioning.NONE, out);
        }
        EDiffException missing = assertThrows(EDiffException.class,
                () -> OnnxExpert.open(dir.resolve("nope.onnx"), GaussianMixtureOnnx.contract(1)));
        assertContains(missing.getMessage(), "nope.onnx", "does not exist");
        java.nio.file.Path garbage = dir.resolve("garbage.onnx");
        java.nio.file.Files.write(garbage, new byte[] {1, 2, 3});
        EDiffException bad = assertThrows(EDiffException.class,
                () -> OnnxExpert.open(garbage, GaussianMixtureOnnx.contract(1)));
        assertContains(bad.getMessage(), "garbage", "could not load the model");
    }

    @Test
    void invalidProviderSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.cuda(-1));
        assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.cuda(0, -5));
        assertThrows(IllegalArgumentException.class, () -> SessionConfig.builder().intraOpThreads(-1).build());
    }
}
