package dev.ediff.onnx;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.core.model.Parameterization;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureOnnx;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A contract that does not fit the graph fails when the expert opens, naming the tensor and both signatures. */
class ContractCheckTest {

    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(1).build();
    static final ExpertContract DEFAULT = ExpertContract.builder().build();

    static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message lacks \"" + part + "\": " + message);
        }
    }

    static String failure(byte[] model, ExpertContract contract) {
        EDiffException e = assertThrows(EDiffException.class, () -> OnnxExpert.open("m", model, contract, CPU).close());
        System.out.println(e.getMessage());
        return e.getMessage();
    }

    @Test
    void unknownInputNameListsTheModelsInputs() {
        String m = failure(TestModels.scaled(DataType.FLOAT, DataType.FLOAT, "B"),
                ExpertContract.builder().xInput("image").build());
        assertContains(m, "'image'", "expected float32 (or float16) rank 4", "'x' float32 [B, 3, 4, 4]", "'sigma' float32 [B]");
    }

    @Test
    void unknownOutputNameListsTheModelsOutputs() {
        String m = failure(TestModels.scaled(DataType.FLOAT, DataType.FLOAT, "B"), ExpertContract.builder().output("F").build());
        assertContains(m, "output 'F'", "'D' float32 [B, 3, 4, 4]");
    }

    @Test
    void wrongRankNamesExpectedAndFound() {
        String m = failure(TestModels.scaled(DataType.FLOAT, DataType.FLOAT, "B", 1), DEFAULT);
        assertContains(m, "input 'sigma'", "expected float32 (or float16) rank 1 [B]", "found float32 [B, 1]");
        // The same graph opens with the matching noise shape.
        try (OnnxExpert e = OnnxExpert.open("m", TestModels.scaled(DataType.FLOAT, DataType.FLOAT, "B", 1),
                ExpertContract.builder().noiseInput("sigma", ExpertContract.NoiseInput.PER_SAMPLE_COLUMN).build(), CPU)) {
            double[] out = new double[48];
            e.denoise(new double[48], TensorShape.of(3, 4, 4), 2, Conditioning.NONE, out);
        }
    }

    @Test
    void wrongDtypeNamesExpectedAndFound() {
        String m = failure(TestModels.scaled(DataType.FLOAT, DataType.INT64, "B"), DEFAULT);
        assertContains(m, "input 'sigma'", "expected float32", "found int64 [B]");
    }

    @Test
    void otherFloatTypesAreRejectedWithAHint() {
        String m = failure(TestModels.scaled(DataType.DOUBLE, DataType.FLOAT, "B"), DEFAULT);
        assertContains(m, "input 'x'", "found float64 [B, 3, 4, 4]", "float32 or float16");
        String b = failure(TestModels.scaled(DataType.FLOAT, DataType.BFLOAT16, "B"), DEFAULT);
        assertContains(b, "input 'sigma'", "found bfloat16 [B]");
    }

    @Test
    void float16InputsAndOutputsAreConverted() {
        try (OnnxExpert e = OnnxExpert.open("m", TestModels.scaledHalf(), DEFAULT, CPU)) {
            double[] x = new double[48];
            for (int i = 0; i < x.length; i++) {
                x[i] = (i - 24) * 0.37;
            }
            double[] out = new double[48];
            e.denoise(x, TensorShape.of(3, 4, 4), 1.5, Conditioning.NONE, out);
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i] * 1.5, out[i], 2e-3 * Math.max(1, Math.abs(x[i] * 1.5)), "element " + i);
            }
        }
    }

    @Test
    void requiredInputLeftUnmappedIsNamed() {
        String m = failure(TestModels.withEmbedding(), DEFAULT);
        assertContains(m, "does not map", "'emb' float32 [B, 8]");
        GaussianMixture g = new GaussianMixture(new double[] {1}, new double[][] {new double[48]}, new double[] {1});
        String m2 = failure(GaussianMixtureOnnx.model(List.of(g, g), TensorShape.of(3, 4, 4)), DEFAULT);
        assertContains(m2, "'label' float32 [B, 1]");
    }

    @Test
    void conditioningIsFedAndItsAbsenceNamed() {
        ExpertContract c = ExpertContract.builder().conditioning(Conditioning.CLIP_POOLED, "emb").build();
        try (OnnxExpert e = OnnxExpert.open("m", TestModels.withEmbedding(), c, CPU)) {
            TensorShape shape = TensorShape.of(3, 4, 4);
            double[] out = new double[48];
            float[] emb = {1, 2, 3, 4, 5, 6, 7, 8};
            e.denoise(new double[48], shape, 1, Conditioning.of(Conditioning.CLIP_POOLED, Tensor.of(emb, 1, 8)), out);
            assertEquals(4.5, out[0], 1e-6);
            EDiffException missing = assertThrows(EDiffException.class, () -> e.open(shape, Conditioning.NONE));
            assertContains(missing.getMessage(), "input 'emb'", "'clip_pooled'");
            EDiffException badDims = assertThrows(EDiffException.class, () -> e.open(shape,
                    Conditioning.of(Conditioning.CLIP_POOLED, Tensor.of(new float[4], 1, 4))));
            assertContains(badDims.getMessage(), "'emb'", "[1, 4]", "[B, 8]");
        }
        ExpertContract withFill = ExpertContract.builder().conditioning(Conditioning.CLIP_POOLED, "emb", 2f).build();
        try (OnnxExpert e = OnnxExpert.open("m", TestModels.withEmbedding(), withFill, CPU)) {
            double[] out = new double[96];
            e.denoise(new double[96], TensorShape.of(3, 4, 4).withBatch(2), 1, Conditioning.NONE, out);
            assertEquals(2.0, out[95], 1e-6);
        }
    }

    @Test
    void fixedDimensionsAreCheckedWhenASessionOpens() {
        GaussianMixture g = new GaussianMixture(new double[] {1}, new double[][] {new double[48]}, new double[] {1});
        try (OnnxExpert e = GaussianMixtureOnnx.expert("gmm", List.of(g), TensorShape.of(3, 4, 4), CPU)) {
            EDiffException ex = assertThrows(EDiffException.class, () -> e.open(new TensorShape(1, 3, 8, 8), Conditioning.NONE));
            assertContains(ex.getMessage(), "input 'x'", "[1, 3, 8, 8]", "[B, 3, 4, 4]");
        }
    }

    @Test
    void maxBatchComesFromTheContract() {
        ExpertContract c = ExpertContract.builder().maxBatch(2).build();
        try (OnnxExpert e = OnnxExpert.open("m", TestModels.scaled(DataType.FLOAT, DataType.FLOAT, "B"), c, CPU)) {
            assertEquals(2, e.maxBatch());
            EDiffException ex = assertThrows(EDiffException.class, () -> e.open(new TensorShape(3, 3, 4, 4), Conditioning.NONE));
            assertContains(ex.getMessage(), "batch 3", "(2)");
        }
    }

    @Test
    void parameterizationIsApplied() {
        // The graph returns F = c_in x * c_noise; with EDM, D = c_skip x + c_out * c_in x * ln(sigma)/4.
        double sd = 0.5;
        ExpertContract c = ExpertContract.builder().parameterization(Parameterization.edm(sd)).build();
        try (OnnxExpert e = OnnxExpert.open("m", TestModels.scaled(DataType.FLOAT, DataType.FLOAT, "B"), c, CPU)) {
            double sigma = 3;
            double[] x = new double[48];
            for (int i = 0; i < x.length; i++) {
                x[i] = i - 20;
            }
            double[] out = new double[48];
            e.denoise(x, TensorShape.of(3, 4, 4), sigma, Conditioning.NONE, out);
            var p = Parameterization.edm(sd).at(sigma);
            double[] expected = new double[48];
            for (int i = 0; i < x.length; i++) {
                expected[i] = p.cSkip() * x[i] + p.cOut() * ((float) (p.cIn() * x[i]) * (float) p.cNoise());
            }
            assertArrayEquals(expected, out, 1e-5);
        }
    }
}
