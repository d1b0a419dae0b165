package dev.ediff.model.mini;

import dev.ediff.api.LoadOptions;
import dev.ediff.api.Mask;
import dev.ediff.api.MemoryMode;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.ModelBundle;
import dev.ediff.onnx.internal.SessionOpener;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The shipped experts' zero-bias copies (ZeroInputRewrite) against the graphs themselves: an
 * unpainted two-stage generation gives the same pixels bit for bit with the copies as with
 * {@value OnnxExpert#ZERO_COPY_PROPERTY}{@code =false}; a painted one opens the three base graphs
 * then, and gives the same pixels as the graphs alone; painting changes the image (the graphs, not
 * the copies, ran it).
 */
class ZeroInputCopyTest {

    private static final SessionConfig CONFIG = SessionConfig.builder().intraOpThreads(1).build();
    private static final Request PLAIN = Request.prompt("a small red circle above a large blue square").seed(7).build();
    private static final Request PAINTED = Request.prompt("a small red circle above a large blue square").seed(7)
            .paint("red circle", Mask.rectangle(0.0, 0.0, 0.5, 0.5), 2.0).build();

    /** The pixels of the plain and the painted request, and the sessions each step left open. */
    private record Run(double[] plain, double[] painted, int opened, int afterPlain, int afterPainted) {
    }

    private static Run run(boolean copies) {
        String previous = System.getProperty(OnnxExpert.ZERO_COPY_PROPERTY);
        System.setProperty(OnnxExpert.ZERO_COPY_PROPERTY, Boolean.toString(copies));
        int before = SessionOpener.liveSessions();
        try (EDiff e = ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, CONFIG)) {
            int opened = SessionOpener.liveSessions() - before;
            double[] plain = e.generate(PLAIN).sample(0).data();
            int afterPlain = SessionOpener.liveSessions() - before;
            double[] painted = e.generate(PAINTED).sample(0).data();
            return new Run(plain, painted, opened, afterPlain, SessionOpener.liveSessions() - before);
        } finally {
            if (previous == null) {
                System.clearProperty(OnnxExpert.ZERO_COPY_PROPERTY);
            } else {
                System.setProperty(OnnxExpert.ZERO_COPY_PROPERTY, previous);
            }
        }
    }

    @Test
    void copiesGiveTheGraphsPixelsAndPaintingOpensTheGraphs() {
        Run graphs = run(false);
        Run copies = run(true);
        assertArrayEquals(graphs.plain(), copies.plain(), "unpainted: the copies must give the graphs' pixels bit for bit");
        assertArrayEquals(graphs.painted(), copies.painted(), "painted: the graphs themselves must run");
        assertFalse(java.util.Arrays.equals(copies.plain(), copies.painted()), "painting must change the image");
        // T5, CLIP text, three base experts, SR; the image encoder opens on a first style image
        assertEquals(6, graphs.opened());
        assertEquals(graphs.opened(), graphs.afterPainted(), "without copies painting opens nothing");
        assertEquals(6, copies.opened(), "the copies open instead of the graphs, not beside them");
        assertEquals(copies.opened(), copies.afterPlain(), "an unpainted generation opens nothing more");
        assertEquals(copies.opened() + 3, copies.afterPainted(), "the first painted generation opens the three base graphs");
    }

    /** With the graph cache off the rewrite would be paid at every open: no copy is made, painting opens nothing more. */
    @Test
    void noCopyWithoutTheGraphCache() {
        int before = SessionOpener.liveSessions();
        try (EDiff e = ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, CONFIG.toBuilder().graphCache(false).build())) {
            int opened = SessionOpener.liveSessions() - before;
            e.generate(PAINTED.toBuilder().untilStage("base").build());
            assertEquals(opened, SessionOpener.liveSessions() - before, "the graphs themselves were open from the start");
        }
    }

    /**
     * Under {@code MemoryMode.LAZY} the graphs a painted generation opens join the residency like the
     * copies: the same pixels as resident, painted, then unpainted, twice.
     */
    @Test
    void lazyResidencyRunsCopiesAndGraphsAlike() {
        Request painted = PAINTED.toBuilder().untilStage("base").build();
        Request plain = PLAIN.toBuilder().untilStage("base").build();
        double[] residentPainted;
        double[] residentPlain;
        try (EDiff e = EDiff.openDefault(LoadOptions.builder().intraOpThreads(1).build())) {
            residentPainted = e.generate(painted).sample(0).data();
            residentPlain = e.generate(plain).sample(0).data();
        }
        int before = SessionOpener.liveSessions();
        try (EDiff e = EDiff.openDefault(LoadOptions.builder().intraOpThreads(1).memory(MemoryMode.LAZY).build())) {
            for (int round = 0; round < 2; round++) {
                assertArrayEquals(residentPainted, e.generate(painted).sample(0).data(), "lazy, painted, round " + round);
                assertArrayEquals(residentPlain, e.generate(plain).sample(0).data(), "lazy, unpainted, round " + round);
            }
        }
        assertEquals(before, SessionOpener.liveSessions(), "closing releases every session, the graphs' included");
    }
}
