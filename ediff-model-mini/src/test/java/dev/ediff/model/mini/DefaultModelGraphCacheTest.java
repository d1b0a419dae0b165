package dev.ediff.model.mini;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.ModelBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The optimized-graph cache on the shipped model's graphs (which ONNX Runtime rewrites more than
 * the test kit's fixture: convolutions in its blocked layout): the full two-stage generation with
 * the cache cold (entries written) and warm (sessions opened from the entries, optimization off)
 * gives pixels bit-identical to the cache turned off, in both entry formats (ONNX, the default, and
 * ORT, read in place). Uses its own cache folder.
 */
class DefaultModelGraphCacheTest {

    @TempDir
    Path tmp;

    private static double[] generate(SessionConfig config) {
        try (EDiff e = ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, config)) {
            return e.generate(Request.prompt("a small red circle").seed(5).steps(3).build()).sample(0).data();
        }
    }

    private static Map<Path, FileTime> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.toList();
            return files.stream().collect(Collectors.toMap(p -> p, p -> {
                try {
                    return Files.getLastModifiedTime(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }));
        }
    }

    @Test
    void coldAndWarmCacheGiveTheSamePixelsAsNoCache() throws IOException {
        Path dir = tmp.resolve("graphs");
        String previous = System.getProperty("ediff.graphCache.dir");
        System.setProperty("ediff.graphCache.dir", dir.toString());
        try {
            SessionConfig on = SessionConfig.builder().intraOpThreads(1).build();
            double[] off = generate(on.toBuilder().graphCache(false).build());
            assertEquals(false, Files.exists(dir), "the cache turned off writes nothing");
            assertArrayEquals(off, generate(on), "cold cache");
            Map<Path, FileTime> written = entries(dir);
            // T5, CLIP text, three base experts, SR (the image encoder opens on a first style image)
            assertEquals(6, written.size(), written::toString);
            assertArrayEquals(off, generate(on), "warm cache");
            assertEquals(written, entries(dir), "the warm open read the entries and wrote none");

            System.setProperty("ediff.graphCache.format", "ort"); // read in place from the mapped entries
            assertArrayEquals(off, generate(on), "cold cache, ORT format");
            Map<Path, FileTime> both = entries(dir);
            assertEquals(12, both.size(), both::toString);
            assertEquals(6, both.keySet().stream().filter(p -> p.toString().endsWith(".ort")).count(), both::toString);
            assertArrayEquals(off, generate(on), "warm cache, ORT format");
            assertEquals(both, entries(dir), "the warm open read the entries and wrote none");
        } finally {
            System.clearProperty("ediff.graphCache.format");
            if (previous == null) {
                System.clearProperty("ediff.graphCache.dir");
            } else {
                System.setProperty("ediff.graphCache.dir", previous);
            }
        }
    }
}
