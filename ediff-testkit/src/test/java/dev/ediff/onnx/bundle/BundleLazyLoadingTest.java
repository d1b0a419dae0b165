package dev.ediff.onnx.bundle;

import dev.ediff.api.Generation;
import dev.ediff.api.MemoryMode;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.Residency;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link MemoryMode#LAZY} on a bundle (the fixture: T5 and CLIP encoders, a base stage of three
 * experts, a super-resolution stage of two): the same samples as with every session resident, one
 * expert loaded at each step of either stage (each released when the noise level falls below its
 * interval, the base stage's when the SR stage starts), nothing loaded after a generation or
 * after close. Counted by the pipeline's {@link Residency}.
 */
class BundleLazyLoadingTest {

    private static final int ENCODERS = 2;
    private static final int EXPERTS = 5;

    @TempDir
    Path temp;

    private static Request request(List<Integer> loaded, Residency residency) {
        return Request.prompt("a red cat on the hat").seed(42).steps(8)
                .onStep((i, sigma, x, denoised) -> loaded.add(residency.loadedNow())).build();
    }

    private static List<double[]> samples(Generation g) {
        List<double[]> out = new ArrayList<>();
        g.stages().forEach(s -> s.samples().forEach(x -> out.add(x.data())));
        return out;
    }

    @Test
    void lazySessionsGiveTheSameSamplesWithOneExpertLoadedAtATime() {
        FixtureBundle f = FixtureBundle.create(temp.resolve("bundle"));
        Residency resident = Residency.of(MemoryMode.RESIDENT);
        List<double[]> expected;
        List<String> expertsRun;
        try (EDiff ediff = ModelBundle.open(new BundleSource.Folder(f.dir), FixtureBundle.CPU, true, resident)) {
            assertEquals(ENCODERS + EXPERTS, resident.loadedNow());
            Generation g = ediff.generate(request(new ArrayList<>(), resident));
            expected = samples(g);
            expertsRun = g.stages().stream().flatMap(s -> s.evaluations().stream().map(e -> e.expert())).distinct().toList();
        }
        assertEquals(0, resident.loadedNow());
        assertEquals(EXPERTS, expertsRun.size(), "every expert of both stages ran: " + expertsRun);

        Residency lazy = Residency.of(MemoryMode.LAZY);
        try (EDiff ediff = ModelBundle.open(new BundleSource.Folder(f.dir), FixtureBundle.CPU, true, lazy)) {
            assertEquals(0, lazy.loadedNow(), "checked at open, then released");
            for (int run = 0; run < 2; run++) {
                List<Integer> loaded = new ArrayList<>();
                lazy.resetPeak();
                List<double[]> got = samples(ediff.generate(request(loaded, lazy)));
                assertEquals(expected.size(), got.size());
                for (int i = 0; i < got.size(); i++) {
                    assertArrayEquals(expected.get(i), got.get(i), "run " + run + ": sample " + i + " as when resident");
                }
                assertEquals(List.of(1), loaded.stream().distinct().toList(), "run " + run + ": one expert per step");
                assertEquals(0, lazy.loadedNow(), "run " + run + ": nothing loaded after the generation");
                assertTrue(lazy.peakLoaded() <= ENCODERS, "run " + run + ": peak " + lazy.peakLoaded());
            }
            // the second run's prompt encodings came from the cache: only the experts were loaded again
            assertEquals(ENCODERS + 2L * EXPERTS, lazy.loads());
        }
        assertEquals(0, lazy.loadedNow());
        assertEquals(lazy.loads(), lazy.unloads(), "every load was released");
    }
}
