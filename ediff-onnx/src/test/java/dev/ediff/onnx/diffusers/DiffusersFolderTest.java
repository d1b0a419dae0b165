package dev.ediff.onnx.diffusers;

import dev.ediff.api.EDiffException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiffusersFolderTest {

    @TempDir
    Path tmp;

    private Path copy(String fixture) throws IOException {
        Path src = References.folder(fixture);
        Path dst = tmp.resolve(fixture);
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return dst;
    }

    private static void replace(Path file, String from, String to) throws IOException {
        String s = Files.readString(file);
        assertTrue(s.contains(from), file + " contains " + from);
        Files.writeString(file, s.replace(from, to));
    }

    private static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should contain '" + p + "'");
        }
    }

    @Test
    void eachFixtureIsItsFamilyWithTheGraphsDeclaredForms() {
        record Expect(String folder, DiffusersFamily family, DenoiserGraph.TimestepForm form, String scheduler) {
        }
        for (Expect x : new Expect[] {
                new Expect("sd15", DiffusersFamily.STABLE_DIFFUSION, DenoiserGraph.TimestepForm.INT64_VECTOR, "EulerDiscreteScheduler"),
                new Expect("sd2", DiffusersFamily.STABLE_DIFFUSION, DenoiserGraph.TimestepForm.FLOAT_VECTOR, "DPMSolverMultistepScheduler"),
                new Expect("sdxl-base", DiffusersFamily.SDXL_BASE, DenoiserGraph.TimestepForm.FLOAT_SCALAR, "EulerDiscreteScheduler"),
                new Expect("sdxl-refiner", DiffusersFamily.SDXL_REFINER, DenoiserGraph.TimestepForm.INT64_VECTOR, "EulerDiscreteScheduler"),
                new Expect("sd3", DiffusersFamily.SD3, DenoiserGraph.TimestepForm.FLOAT_VECTOR, "FlowMatchEulerDiscreteScheduler")}) {
            DiffusersFolder f = DiffusersFolder.open(References.folder(x.folder()));
            assertEquals(x.family(), f.family(), x.folder());
            assertEquals(x.scheduler(), f.scheduler().className(), x.folder());
            try (DenoiserGraph g = DenoiserGraph.open(f, 1)) {
                assertEquals(x.form(), g.timestepForm(), x.folder());
                assertEquals(x.family() == DiffusersFamily.SDXL_BASE || x.family() == DiffusersFamily.SDXL_REFINER,
                        g.takesAddedConditioning(), x.folder());
                // an int64 graph receives truncated timesteps, a float graph the float32 value
                assertEquals(x.form() == DenoiserGraph.TimestepForm.INT64_VECTOR ? 12.0 : (float) 12.7, g.fedTimestep(12.7));
            }
        }
        DiffusersFolder sd3 = DiffusersFolder.open(References.folder("sd3"));
        assertEquals(0.0609, sd3.vae().shiftFactor(), 1e-12);
        assertEquals(16, sd3.vae().latentChannels());
        assertTrue(DiffusersFolder.open(References.folder("sdxl-base")).forceZerosForEmptyPrompt());
        assertFalse(DiffusersFolder.open(References.folder("sdxl-refiner")).forceZerosForEmptyPrompt());
    }

    @Test
    void anUnsupportedPipelineClassIsNamed() throws IOException {
        Path f = copy("sd15");
        replace(f.resolve("model_index.json"), "OnnxStableDiffusionPipeline", "KandinskyV22Pipeline");
        EDiffException e = assertThrows(EDiffException.class, () -> DiffusersFolder.open(f));
        assertMessage(e, "model_index.json", "pipeline class 'KandinskyV22Pipeline' is not supported", "StableDiffusionXLPipeline");
    }

    @Test
    void aMissingComponentFileIsNamed() throws IOException {
        Path f = copy("sdxl-base");
        Files.delete(f.resolve("unet").resolve("model.onnx"));
        EDiffException e = assertThrows(EDiffException.class, () -> DiffusersFolder.open(f));
        assertMessage(e, f.resolve("unet").resolve("model.onnx").toString(), "is missing");

        Path g = copy("sd3");
        Files.delete(g.resolve("tokenizer_2").resolve("vocab.json"));
        e = assertThrows(EDiffException.class, () -> DiffusersFolder.open(g));
        assertMessage(e, "tokenizer_2", "expected tokenizer.json, spiece.model, or vocab.json + merges.txt");

        Path h = copy("sd2");
        Files.delete(h.resolve("scheduler").resolve("scheduler_config.json"));
        e = assertThrows(EDiffException.class, () -> DiffusersFolder.open(h));
        assertMessage(e, "scheduler_config.json is missing");
    }

    @Test
    void aComponentTheFamilyNeedsMustBeListed() throws IOException {
        Path f = copy("sdxl-base");
        replace(f.resolve("model_index.json"), "\"text_encoder_2\": [\n    \"diffusers\",\n    \"OnnxRuntimeModel\"\n  ]",
                "\"text_encoder_2\": [null, null]");
        EDiffException e = assertThrows(EDiffException.class, () -> DiffusersFolder.open(f));
        assertMessage(e, "component 'text_encoder_2' is missing or null");
    }

    @Test
    void aTokenizerLargerThanTheEmbeddingTableIsRejectedAtOpen() throws IOException {
        promptEncoderRefuses("sd15", "text_encoder", "\"vocab_size\": 723", "\"vocab_size\": 500",
                "tokenizer has 723 tokens", "config.json has vocab_size 500");
    }

    @Test
    void aCrossAttentionWidthThatDoesNotFitTheTextEncodersIsRejectedAtOpen() throws IOException {
        promptEncoderRefuses("sdxl-base", "unet", "\"cross_attention_dim\": 80", "\"cross_attention_dim\": 64",
                "cross_attention_dim 64 does not match the text encoders' width 80", "text_encoder 32", "text_encoder_2 48");
    }

    /** A copy of {@code fixture} with one edit to {@code component/config.json} opens, but its prompt encoder does not. */
    private void promptEncoderRefuses(String fixture, String component, String from, String to, String... fragments)
            throws IOException {
        Path f = copy(fixture);
        replace(f.resolve(component).resolve("config.json"), from, to);
        DiffusersFolder folder = DiffusersFolder.open(f);
        EDiffException e = assertThrows(EDiffException.class, () -> DiffusersPromptEncoder.open(folder, 1));
        assertMessage(e, fragments);
    }

    @Test
    void embeddingsOfTheWrongWidthAreRejectedByTheDenoiserGraph() {
        DiffusersFolder sd15 = DiffusersFolder.open(References.folder("sd15"));
        try (DenoiserGraph g = DenoiserGraph.open(sd15, 1)) {
            DiffusersPromptEncoder.Embeddings e = new DiffusersPromptEncoder.Embeddings(new float[2 * 77 * 48], 77, 48,
                    new float[0], 0, java.util.Map.of());
            EDiffException ex = assertThrows(EDiffException.class,
                    () -> g.predict(new float[2 * 4 * 64], new long[] {2, 4, 8, 8}, 500, e, null));
            assertMessage(ex, "'encoder_hidden_states' is 32 wide", "48 wide");
        }
    }

    @Test
    void aSchedulerOfTheWrongKindIsRejected() throws IOException {
        Path f = copy("sd3");
        replace(f.resolve("scheduler").resolve("scheduler_config.json"), "FlowMatchEulerDiscreteScheduler", "EulerDiscreteScheduler");
        EDiffException e = assertThrows(EDiffException.class, () -> DiffusersFolder.open(f));
        assertMessage(e, "does not fit a sd3 pipeline", "FlowMatchEulerDiscreteScheduler");
    }

    @Test
    void t5IsOptionalForSd3AndItsAbsenceGivesZeros() throws IOException {
        Path f = copy("sd3");
        replace(f.resolve("model_index.json"), "\"text_encoder_3\": [\n    \"diffusers\",\n    \"OnnxRuntimeModel\"\n  ]",
                "\"text_encoder_3\": [null, null]");
        DiffusersFolder folder = DiffusersFolder.open(f);
        try (DiffusersPromptEncoder enc = DiffusersPromptEncoder.open(folder, 1)) {
            assertFalse(enc.hasT5());
            DiffusersPromptEncoder.Embeddings e = enc.encode("a red cube", null, true);
            int row = e.sequence() * e.width();
            for (int i = 77 * e.width(); i < row; i++) {
                assertEquals(0f, e.tokens()[row + i]);
            }
        }
    }
}
