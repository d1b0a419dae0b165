package dev.ediff.onnx.diffusers;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.rewrite.RewrittenModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Paint-with-words on diffusers folders through {@code EDiff.open(folder).generate(request)}: the
 * denoiser is rewritten ({@code dev.ediff.onnx.rewrite}) on the first painted request into a cache
 * folder (the property {@value DiffusersPipeline#REWRITE_CACHE_PROPERTY}, a temporary folder here).
 */
class DiffusersPaintTest {

    private static final String PROMPT = "a red cube on a blue table";
    private static final Mask LEFT = Mask.rectangle(0, 0, 0.5, 1);

    @TempDir
    static Path cache;
    private static String previous;

    @BeforeAll
    static void useTemporaryCache() {
        previous = System.getProperty(DiffusersPipeline.REWRITE_CACHE_PROPERTY);
        System.setProperty(DiffusersPipeline.REWRITE_CACHE_PROPERTY, cache.toString());
    }

    @AfterAll
    static void restoreCache() {
        if (previous == null) {
            System.clearProperty(DiffusersPipeline.REWRITE_CACHE_PROPERTY);
        } else {
            System.setProperty(DiffusersPipeline.REWRITE_CACHE_PROPERTY, previous);
        }
    }

    private static Request.Builder request() {
        return Request.prompt(PROMPT).negativePrompt("blurry").seed(5).steps(4).guidance(7.5);
    }

    private static Sample image(EDiff ediff, Request r) {
        Generation g = ediff.generate(r);
        return g.samples().get(0);
    }

    /** Mean absolute difference of two images over the columns {@code [x0, x1)} of every channel and row. */
    private static double meanDiff(Sample a, Sample b, double x0, double x1) {
        int c = a.shape().channels();
        int h = a.shape().height();
        int w = a.shape().width();
        int from = (int) Math.round(x0 * w);
        int to = (int) Math.round(x1 * w);
        double sum = 0;
        int n = 0;
        for (int k = 0; k < c; k++) {
            for (int y = 0; y < h; y++) {
                for (int x = from; x < to; x++) {
                    int i = (k * h + y) * w + x;
                    sum += Math.abs(a.data()[i] - b.data()[i]);
                    n++;
                }
            }
        }
        return sum / n;
    }

    private static double maxDiff(Sample a, Sample b) {
        double worst = 0;
        for (int i = 0; i < a.data().length; i++) {
            worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]));
        }
        return worst;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sd15-fp16", "sd2", "sdxl-base"})
    void paintingChangesTheImageMostWhereAndAsMuchAsPainted(String name) {
        try (EDiff ediff = EDiff.open(References.folder(name))) {
            Sample plain = image(ediff, request().build());
            Sample weak = image(ediff, request().paint("red cube", LEFT, 0.5).build());
            Sample strong = image(ediff, request().paint("red cube", LEFT, 2.0).build());
            double weakIn = meanDiff(plain, weak, 0, 0.5);
            double strongIn = meanDiff(plain, strong, 0, 0.5);
            double strongOut = meanDiff(plain, strong, 0.5, 1);
            System.out.printf("%s: mean |painted - plain| inside: w=0.5 %.5f, w=2 %.5f; outside (w=2) %.5f%n",
                    name, weakIn, strongIn, strongOut);
            assertTrue(weakIn > 1e-4, name + ": painting changes the image, inside " + weakIn);
            assertTrue(strongIn > weakIn, name + ": a larger weight changes it more: " + strongIn + " vs " + weakIn);
            assertTrue(strongIn > strongOut, name + ": more inside the painted region (" + strongIn + ") than outside ("
                    + strongOut + ")");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl-base"})
    void weightZeroGivesTheUnpaintedImage(String name) {
        try (EDiff ediff = EDiff.open(References.folder(name))) {
            Sample plain = image(ediff, request().build());
            Sample zero = image(ediff, request().paint("red cube", LEFT, 0).build());
            double worst = maxDiff(plain, zero);
            System.out.printf("%s: weight 0 vs unpainted, max |difference| %.3g%n", name, worst);
            assertTrue(worst <= 1e-5, name + ": weight 0 within float tolerance of unpainted, got " + worst);
        }
    }

    /**
     * A phrase's columns are its CLIP token positions: start token at 0, "a" at 1, "red" and "cube"
     * at 2 and 3 (single-token words in CLIP's vocabulary), in SD's one tokenizer and in both of SDXL's.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl-base"})
    void phraseColumnsAreTheClipTokenPositions(String name) {
        try (EDiff ediff = EDiff.open(References.folder(name))) {
            assertEquals(new dev.ediff.api.PhraseSpan(2, 4), ediff.textEncoders().get("clip").locate(PROMPT, "red cube"));
            assertEquals(new dev.ediff.api.PhraseSpan(6, 8), ediff.textEncoders().get("clip").locate(PROMPT, "blue table"));
            assertThrows(IllegalArgumentException.class, () -> ediff.textEncoders().get("clip").locate(PROMPT, "green"));
        }
    }

    /** Base and refiner as one routed stage: each expert is rewritten and takes its own encoder's columns. */
    @Test
    void sdxlBaseAndRefinerBothPaint() {
        try (EDiff ediff = EDiff.open(References.folder("sdxl-base"), References.folder("sdxl-refiner"),
                dev.ediff.api.LoadOptions.builder().intraOpThreads(1).build())) {
            Request.Builder r = Request.prompt(PROMPT).seed(5).steps(10).guidance(5);
            Sample plain = image(ediff, r.build());
            Sample zero = image(ediff, Request.prompt(PROMPT).seed(5).steps(10).guidance(5).paint("red cube", LEFT, 0).build());
            Sample strong = image(ediff, Request.prompt(PROMPT).seed(5).steps(10).guidance(5).paint("red cube", LEFT, 2).build());
            DiffusersExpert base = (DiffusersExpert) ediff.stages().get(0).routingTree().route(1000);
            DiffusersExpert refiner = (DiffusersExpert) ediff.stages().get(0).routingTree().route(0.01);
            assertTrue(base != refiner && base.rewritten() != null && refiner.rewritten() != null,
                    "both experts ran rewritten graphs");
            System.out.printf("sdxl base+refiner: weight 0 max |diff| %.3g; weight 2 mean |diff| inside %.5f outside %.5f%n",
                    maxDiff(plain, zero), meanDiff(plain, strong, 0, 0.5), meanDiff(plain, strong, 0.5, 1));
            assertTrue(maxDiff(plain, zero) <= 1e-5, "weight 0 is the unpainted image");
            assertTrue(meanDiff(plain, strong, 0, 0.5) > meanDiff(plain, strong, 0.5, 1), "changed most where painted");
        }
    }

    /** Unpainted requests never touch the rewrite, and stay bit-identical after a painted one. */
    @Test
    void unpaintedRequestsUseTheOriginalGraph() {
        try (EDiff ediff = EDiff.open(References.folder("sd15"))) {
            DiffusersExpert expert = (DiffusersExpert) ediff.stages().get(0).routingTree().route(1.0);
            Sample before = image(ediff, request().build());
            assertNull(expert.rewritten(), "no rewrite before a painted request");
            image(ediff, request().paint("cube", LEFT, 1.0).build());
            Sample after = image(ediff, request().build());
            assertEquals(0.0, maxDiff(before, after), "unpainted image after a painted one");
        }
    }

    @Test
    void theRewriteIsMadeOnceAndCached() throws Exception {
        Path first;
        FileTime written;
        try (EDiff ediff = EDiff.open(References.folder("sd2"))) {
            DiffusersExpert expert = (DiffusersExpert) ediff.stages().get(0).routingTree().route(1.0);
            image(ediff, request().paint("cube", LEFT, 1.0).build());
            RewrittenModel r = expert.rewritten();
            assertTrue(r.path().startsWith(cache), r.path() + " inside the cache folder " + cache);
            first = r.path();
            written = Files.getLastModifiedTime(first);
            image(ediff, request().paint("table", Mask.rectangle(0.5, 0, 1, 1), 1.0).build());
            assertTrue(r == expert.rewritten(), "the second painted request reuses the opened rewrite");
        }
        try (EDiff again = EDiff.open(References.folder("sd2"))) {
            DiffusersExpert expert = (DiffusersExpert) again.stages().get(0).routingTree().route(1.0);
            image(again, request().paint("cube", LEFT, 1.0).build());
            assertTrue(expert.rewritten().cacheHit(), "a new pipeline finds the rewrite in the cache");
            assertEquals(first, expert.rewritten().path());
            assertEquals(written, Files.getLastModifiedTime(first), "the cached file is not written again");
        }
    }

    @Test
    void sd3RefusesPaintingWithTheReason() {
        try (EDiff ediff = EDiff.open(References.folder("sd3"))) {
            Exception e = assertThrows(Exception.class, () -> image(ediff, request().paint("cube", LEFT, 1.0).build()));
            System.out.println("sd3: " + e.getMessage());
            assertTrue(e instanceof EDiffException || e.getCause() instanceof EDiffException, e.toString());
            String m = e.getMessage();
            assertTrue(m.contains("sd3") && m.contains("cannot paint words"), m);
            assertFalse(m.contains("\n"), "one line: " + m);
        }
    }
}
