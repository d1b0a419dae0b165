package dev.ediff.onnx.diffusers;

import dev.ediff.api.Generation;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.MemoryMode;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.onnx.Residency;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MemoryMode#LAZY} on the SDXL base + refiner fixture: the same pixels as with every graph
 * resident, at most one denoiser loaded during denoising (the base released when the refiner takes
 * over), nothing loaded between generations, after a failed generation, or after close; and the
 * graphs load again for the next generation. Counted by the pipeline's {@link Residency}.
 */
class DiffusersLazyLoadingTest {

    /** Text encoders: base CLIP-L and CLIP-G, refiner CLIP-G; U-Nets: base and refiner; one VAE decoder. */
    private static final int ENCODERS = 3;
    private static final int GRAPHS = ENCODERS + 2 + 1;
    private static final int STEPS = 10;

    @TempDir
    Path temp;

    private EDiff open(Residency residency) {
        return DiffusersPipeline.open(References.folder("sdxl-base"), References.folder("sdxl-refiner"),
                LoadOptions.builder().intraOpThreads(1).build(), temp, residency);
    }

    private static Request.Builder request(String prompt, List<Integer> loadedPerStep, Residency residency) {
        return Request.prompt(prompt).seed(5).sampler(Samplers.euler(), STEPS).guidance(5.0)
                .onStep((i, sigma, x, denoised) -> loadedPerStep.add(residency.loadedNow()));
    }

    private static double[] pixels(Generation g) {
        return g.stages().get(0).samples().get(0).data();
    }

    @Test
    void lazyLoadingGivesTheSameImageWithOneDenoiserLoadedAtATime() {
        Residency resident = Residency.of(MemoryMode.RESIDENT);
        List<Integer> residentSteps = new ArrayList<>();
        double[] expected;
        try (EDiff ediff = open(resident)) {
            assertEquals(GRAPHS, resident.loadedNow(), "resident: every graph loaded at open");
            expected = pixels(ediff.generate(request("a red cube on a blue table", residentSteps, resident).build()));
            assertEquals(GRAPHS, resident.loadedNow());
        }
        assertEquals(0, resident.loadedNow(), "resident: closing releases every graph");
        assertEquals(List.of(GRAPHS), residentSteps.stream().distinct().toList());

        Residency lazy = Residency.of(MemoryMode.LAZY);
        try (EDiff ediff = open(lazy)) {
            assertEquals(0, lazy.loadedNow(), "lazy: graphs are checked at open, then released");
            List<Integer> steps = new ArrayList<>();
            Generation g = ediff.generate(request("a red cube on a blue table", steps, lazy).build());
            assertArrayEquals(expected, pixels(g), "lazy loading changes nothing in the image");
            assertEquals(STEPS, steps.size());
            assertEquals(List.of(1), steps.stream().distinct().toList(), "one graph (the step's U-Net) while denoising");
            List<String> experts = g.stages().get(0).evaluations().stream().map(e -> e.expert()).distinct().toList();
            assertEquals(2, experts.size(), "both experts ran: " + experts);
            assertEquals(0, lazy.loadedNow(), "nothing loaded after the generation");
            assertEquals(ENCODERS, lazy.peakLoaded(), "peak: the three text encoders while the prompts are encoded");
            assertEquals(GRAPHS, lazy.loads(), "each graph loaded once");

            // the next generation loads the graphs again (its prompt is new, so the encoders run too)
            steps.clear();
            lazy.resetPeak();
            Generation again = ediff.generate(request("a red cube on a blue table", steps, lazy).build());
            assertArrayEquals(expected, pixels(again), "reloaded graphs give the same image");
            assertEquals(List.of(1), steps.stream().distinct().toList());
            // the prompt's encodings came from the pipeline's cache: the encoders were not loaded at all
            assertEquals(GRAPHS + 3, lazy.loads(), "two U-Nets and the VAE loaded again, no encoder");
            assertEquals(1, lazy.peakLoaded());
            assertEquals(0, lazy.loadedNow());

            // a generation that fails part-way releases what it held
            assertThrows(RuntimeException.class, () -> ediff.generate(Request.prompt("a green sphere").seed(6)
                    .sampler(Samplers.euler(), STEPS).guidance(5.0).onStep((i, sigma, x, denoised) -> {
                        if (i == 2) {
                            throw new IllegalStateException("stop here");
                        }
                    }).build()));
            assertEquals(0, lazy.loadedNow(), "a failed generation releases its graphs");
        }
        assertEquals(0, lazy.loadedNow());
        assertEquals(lazy.loads(), lazy.unloads(), "every load was released");
        assertTrue(lazy.toString().contains("lazy"));
    }

    @Test
    void loadOptionsSelectTheMode() {
        LoadOptions options = LoadOptions.builder().intraOpThreads(1).memory(MemoryMode.LAZY).build();
        assertEquals(MemoryMode.LAZY, options.memory());
        assertEquals(MemoryMode.RESIDENT, LoadOptions.DEFAULT.memory());
        // through the public road: the same image as the resident pipeline
        double[] resident;
        double[] lazy;
        try (EDiff e = EDiff.open(References.folder("sdxl-base"), LoadOptions.builder().intraOpThreads(1).build())) {
            resident = pixels(e.generate(Request.prompt("a cat").seed(2).sampler(Samplers.euler(), 4).build()));
        }
        try (EDiff e = EDiff.open(References.folder("sdxl-base"), options)) {
            lazy = pixels(e.generate(Request.prompt("a cat").seed(2).sampler(Samplers.euler(), 4).build()));
        }
        assertArrayEquals(resident, lazy);
    }
}
