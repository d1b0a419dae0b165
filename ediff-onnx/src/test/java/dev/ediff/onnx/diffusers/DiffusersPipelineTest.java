package dev.ediff.onnx.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.core.EDiff;
import dev.ediff.core.schedule.DiffusersSchedule;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The diffusers folders through the SDK's main road, {@code EDiff.open(folder).generate(request)}:
 * text encoders as the pipeline's encoders, the UNet / MMDiT as a routed expert, the folder's
 * scheduler as the stage's schedule, the VAE as the stage's decoder. Each case runs the Python
 * reference's prompt, negative prompt, guidance, steps and unit noise and must reproduce its
 * latents before every step ({@code 1e-4 * max(1, |ref|)}) and its decoded pixels (1e-3); float16
 * graphs within the looser tolerance of {@link DiffusersParityTest}. A reference whose scheduler
 * config differs from the fixture folder's runs on a copy of the folder with that config, so the
 * pipeline reads it from the folder as a user's would.
 */
class DiffusersPipelineTest {

    private static final double LATENT_TOL = 1e-4;
    private static final double PIXEL_TOL = 1e-3;
    private static final double FP16_TOL = 2e-2;

    @TempDir
    Path temp;

    /** The fixture folder, or a copy (component folders linked) with the reference's scheduler config. */
    private Path folderFor(JsonNode meta, String key) throws IOException {
        Path fixture = References.folder(meta.get(key).asText());
        JsonNode own = new ObjectMapper().readTree(fixture.resolve("scheduler").resolve("scheduler_config.json").toFile());
        JsonNode wanted = meta.get("scheduler_config");
        if (key.equals("refiner") || own.equals(wanted)) {
            return fixture;
        }
        Path copy = temp.resolve(meta.get("case").asText() + "-" + key);
        Files.createDirectories(copy.resolve("scheduler"));
        try (Stream<Path> parts = Files.list(fixture)) {
            for (Path p : parts.toList()) {
                if (!p.getFileName().toString().equals("scheduler")) {
                    Files.createSymbolicLink(copy.resolve(p.getFileName()), p);
                }
            }
        }
        new ObjectMapper().writeValue(copy.resolve("scheduler").resolve("scheduler_config.json").toFile(), wanted);
        return copy;
    }

    private static double toReferenceSpace(String sampler, double x, double sigma) {
        return switch (sampler) {
            case "dpmpp_2m" -> x / Math.sqrt(sigma * sigma + 1);
            case "flow_euler" -> x / (1 + sigma);
            default -> x;
        };
    }

    private static double[] unitNoise(JsonNode meta) throws IOException {
        float[] n = References.npy(meta.get("arrays").get("noise").asText()).data();
        double[] d = new double[n.length];
        for (int i = 0; i < n.length; i++) {
            d[i] = n[i];
        }
        return d;
    }

    /** Generates the reference's case and checks the latents before every step and the pixels. */
    private Generation generateAndCheck(EDiff ediff, JsonNode meta, double tol, String... perStepKeys) throws IOException {
        String name = meta.get("case").asText();
        String samplerName = meta.get("sampler").asText();
        int steps = meta.get("steps").asInt();
        Request.Builder r = Request.prompt(meta.get("prompt").asText()).seed(meta.get("seed").asLong())
                .sampler(samplerName.equals("dpmpp_2m") ? Samplers.dpmSolverPP2M() : Samplers.euler(), steps)
                .guidance(meta.get("guidance").asDouble()).initialNoise(unitNoise(meta))
                .t5(meta.path("t5").asBoolean(true));
        if (!meta.get("negative_prompt").isNull()) {
            r.negativePrompt(meta.get("negative_prompt").asText());
        }
        float[] perStep = new float[0];
        for (String key : perStepKeys) { // the base's steps, then the refiner's
            float[] part = References.npy(meta.get("arrays").get(key).asText()).data();
            float[] joined = Arrays.copyOf(perStep, perStep.length + part.length);
            System.arraycopy(part, 0, joined, perStep.length, part.length);
            perStep = joined;
        }
        float[] steps0 = perStep;
        List<Double> worst = new ArrayList<>();
        r.onStep((i, sigma, x, denoised) -> {
            int n = x.length;
            float[] ref = Arrays.copyOfRange(steps0, i * n, (i + 1) * n);
            double[] mine = new double[n];
            for (int k = 0; k < n; k++) {
                mine[k] = toReferenceSpace(samplerName, x[k], sigma);
            }
            worst.add(References.assertClose(ref, mine, tol, name + " latents before step " + i));
        });
        Generation g = ediff.generate(r.build());
        assertEquals(steps, worst.size(), name + ": steps observed");
        Sample s = g.samples().get(0);
        References.Array px = References.npy(meta.get("arrays").get("pixels").asText());
        assertEquals(Arrays.toString(px.shape()), Arrays.toString(s.shape().toLongArray()), name + " pixel shape");
        double[] mine = new double[s.data().length];
        for (int i = 0; i < mine.length; i++) {
            mine[i] = (s.data()[i] + 1) / 2;
        }
        double pxErr = References.assertClose(px.data(), mine, Math.max(PIXEL_TOL, tol == LATENT_TOL ? 0 : FP16_TOL),
                name + " pixels");
        System.out.printf("EDiff.open %s: largest scaled latent error %.2e over %d steps, largest pixel error %.2e%n", name,
                worst.stream().mapToDouble(Double::doubleValue).max().orElse(0), worst.size(), pxErr);
        return g;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15_euler", "sd15_fp16_euler", "sd15_dpmpp2m", "sd15_euler_linspace", "sd2_v_euler",
            "sd2_v_euler_linspace_karras", "sd2_v_dpmpp2m_karras", "sd3_t5", "sd3_no_t5"})
    void openedFolderReproducesPython(String name) throws Exception {
        JsonNode meta = References.json(name + ".json");
        double tol = meta.get("model").asText().contains("fp16") ? FP16_TOL : LATENT_TOL;
        try (EDiff ediff = EDiff.open(folderFor(meta, "model"), LoadOptions.builder().intraOpThreads(1).build())) {
            generateAndCheck(ediff, meta, tol, "latents_per_step");
        }
    }

    /**
     * {@code LoadOptions.clipSkip(1)} on the SDXL base reproduces the Python reference with diffusers'
     * {@code clip_skip=1} (the prompt from {@code hidden_states[-3]}, the negative from {@code [-2]});
     * SD 1.x refuses clip skip at open, naming the file, and so do bundles.
     */
    @Test
    void clipSkipIsALoadOption() throws Exception {
        JsonNode meta = References.json("sdxl_base_clip_skip1.json");
        assertEquals(1, meta.get("clip_skip").asInt());
        try (EDiff ediff = EDiff.open(References.folder("sdxl-base"),
                LoadOptions.builder().intraOpThreads(1).clipSkip(1).build())) {
            generateAndCheck(ediff, meta, LATENT_TOL, "base_latents_per_step");
        }
        EDiffException sd = org.junit.jupiter.api.Assertions.assertThrows(EDiffException.class,
                () -> EDiff.open(References.folder("sd15"), LoadOptions.builder().clipSkip(1).build()));
        assertTrue(sd.getMessage().contains("text_encoder") && sd.getMessage().contains("clip skip 1"), sd.getMessage());
        EDiffException deep = org.junit.jupiter.api.Assertions.assertThrows(EDiffException.class,
                () -> EDiff.open(References.folder("sdxl-base"), LoadOptions.builder().clipSkip(9).build()));
        assertTrue(deep.getMessage().contains("goes past"), deep.getMessage());
    }

    /**
     * SDXL tells an explicit empty negative prompt from none, as diffusers does: {@code ""} is encoded
     * (the Python reference encodes it), while no negative prompt zeroes the negative branch
     * ({@code force_zeros_for_empty_prompt}), which gives other latents.
     */
    @Test
    void sdxlEncodesAnExplicitEmptyNegativePromptButZeroesAMissingOne() throws Exception {
        JsonNode meta = References.json("sdxl_base_empty_negative.json");
        assertEquals("", meta.get("negative_prompt").asText());
        try (EDiff ediff = EDiff.open(References.folder("sdxl-base"), LoadOptions.builder().intraOpThreads(1).build())) {
            Generation given = generateAndCheck(ediff, meta, LATENT_TOL, "base_latents_per_step");
            Request none = Request.prompt(meta.get("prompt").asText()).seed(meta.get("seed").asLong())
                    .sampler(Samplers.euler(), meta.get("steps").asInt()).guidance(meta.get("guidance").asDouble())
                    .initialNoise(unitNoise(meta)).build();
            assertTrue(!none.negativePromptGiven());
            double[] zeroed = ediff.generate(none).sample(0).data();
            double diff = 0;
            double[] explicit = given.sample(0).data();
            for (int i = 0; i < zeroed.length; i++) {
                diff = Math.max(diff, Math.abs(zeroed[i] - explicit[i]));
            }
            assertTrue(diff > 1e-3, "no negative prompt (zeros) vs an explicit \"\" (encoded): largest pixel difference " + diff);
        }
    }

    /**
     * SDXL base + refiner as one routed pipeline: the base's experts above diffusers' denoising_end
     * boundary, the refiner below, each with its own conditioning; with DPM-Solver++(2M) the
     * sampler restarts at the refiner as diffusers' fresh scheduler does.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sdxl_refiner_euler", "sdxl_refiner_dpmpp2m"})
    void sdxlBaseAndRefinerAsOnePipeline(String name) throws Exception {
        JsonNode meta = References.json(name + ".json");
        try (EDiff ediff = EDiff.open(References.folder(meta.get("model").asText()),
                References.folder(meta.get("refiner").asText()), LoadOptions.builder().intraOpThreads(1).build())) {
            assertEquals(2, ediff.routingTree().size(), "base and refiner experts");
            assertEquals(List.of("clip", "refiner_clip"), ediff.textEncoders().keySet().stream().sorted().toList());
            Generation g = generateAndCheck(ediff, meta, LATENT_TOL, "base_latents_per_step", "refiner_latents_per_step");
            List<String> experts = g.stages().get(0).evaluations().stream().map(e -> e.expert()).toList();
            int baseSteps = meta.get("base_steps").asInt();
            assertEquals(meta.get("steps").asInt(), experts.size(), name + ": one evaluation per step (guidance batched)");
            for (int i = 0; i < experts.size(); i++) {
                assertTrue(experts.get(i).startsWith(i < baseSteps ? "base" : "refiner"), name + " step " + i + " ran " + experts.get(i));
            }
        }
    }

    /**
     * The SDXL base alone: the same levels as the base + refiner reference, so its first
     * {@code base_steps} latents (before the refiner takes over) must match the base's.
     */
    @Test
    void sdxlBaseAloneMatchesTheBaseSteps() throws Exception {
        JsonNode meta = References.json("sdxl_refiner_euler.json");
        float[] ref = References.npy(meta.get("arrays").get("base_latents_per_step").asText()).data();
        int baseSteps = meta.get("base_steps").asInt();
        List<Double> worst = new ArrayList<>();
        try (EDiff ediff = EDiff.open(References.folder("sdxl-base"), LoadOptions.builder().intraOpThreads(1).build())) {
            assertEquals(1, ediff.routingTree().size());
            ediff.generate(Request.prompt(meta.get("prompt").asText()).seed(1).sampler(Samplers.euler(),
                    meta.get("steps").asInt()).guidance(meta.get("guidance").asDouble()).initialNoise(unitNoise(meta))
                    .onStep((i, sigma, x, denoised) -> {
                        if (i < baseSteps) {
                            worst.add(References.assertClose(Arrays.copyOfRange(ref, i * x.length, (i + 1) * x.length), x,
                                    LATENT_TOL, "sdxl base latents before step " + i));
                        }
                    }).build());
        }
        assertEquals(baseSteps, worst.size());
        System.out.printf("EDiff.open sdxl-base alone: largest scaled latent error %.2e over %d steps%n",
                worst.stream().mapToDouble(Double::doubleValue).max().orElse(0), worst.size());
    }

    @Test
    void refinerPairsAreCheckedAtOpen() {
        EDiffException alone = org.junit.jupiter.api.Assertions.assertThrows(EDiffException.class,
                () -> EDiff.open(References.folder("sdxl-refiner")));
        assertTrue(alone.getMessage().contains("open it as the refiner of a base folder"), alone.getMessage());
        EDiffException wrong = org.junit.jupiter.api.Assertions.assertThrows(EDiffException.class,
                () -> EDiff.open(References.folder("sd15"), References.folder("sdxl-refiner")));
        assertTrue(wrong.getMessage().contains("a refiner pairs an SDXL base with an SDXL refiner; got stable-diffusion"),
                wrong.getMessage());
    }

    /**
     * A PNG's parameters regenerate the image bit for bit in a freshly opened pipeline: the sigmas
     * come back as an explicit list, the start scale of the scheduler ({@code sqrt(sigma_0^2 + 1)}
     * here, not {@code sigma_0}) as {@code base.noise_scale}, and the integer timesteps of the levels
     * reach the int64 UNet unchanged.
     */
    @ParameterizedTest
    @ValueSource(strings = {"euler", "dpmpp_2m"})
    void parametersRegenerateTheImage(String sampler) {
        Path sd15 = References.folder("sd15");
        Generation first;
        try (EDiff ediff = EDiff.open(sd15)) {
            first = ediff.generate(Request.prompt("a red cube").negativePrompt("blurry").seed(11)
                    .sampler(Samplers.byName(sampler), 5).guidance(7.5).build());
        }
        assertTrue(first.parameters().containsKey("base.noise_scale"), first.parameters().toString());
        DiffusersTiming timing = new DiffusersTiming(DiffusersFolder.open(sd15).scheduler());
        DiffusersSchedule ds = DiffusersSchedule.forSampler(sampler, DiffusersFolder.open(sd15).scheduler(), 5);
        for (int i = 0; i < 5; i++) {
            // a fresh timing has computed no levels: the table inverse must give the integer timestep exactly
            assertEquals(ds.timesteps()[i], timing.timestepOf(ds.sigmas()[i]), 0.0, sampler + " timestep of level " + i);
        }
        try (EDiff fresh = EDiff.open(sd15)) {
            Generation again = fresh.generate(dev.ediff.core.GenerationParameters.parse(first.parameters()).build());
            double[] a = first.samples().get(0).data();
            double[] b = again.samples().get(0).data();
            double worst = 0;
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]));
            }
            assertEquals(0.0, worst, sampler + ": largest difference of the regenerated pixels");
        }
    }

    @Test
    void sd3TogglesT5AsAnEncoder() throws Exception {
        try (EDiff ediff = EDiff.open(References.folder("sd3"))) {
            assertEquals(List.of("clip", "t5"), ediff.textEncoders().keySet().stream().sorted().toList());
            assertTrue(ediff.stages().get(0).decoder().isPresent(), "latent stage with a VAE decoder");
            assertEquals("euler", ediff.stages().get(0).defaultSampler().name());
        }
    }
}
