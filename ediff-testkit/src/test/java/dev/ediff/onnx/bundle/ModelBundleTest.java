package dev.ediff.onnx.bundle;

import dev.ediff.api.EDiffException;
import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.RoutedEvaluation;
import dev.ediff.api.StageOptions;
import dev.ediff.api.StageResult;
import dev.ediff.api.Truncation;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.stream.Collectors;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A complete fixture bundle (2 stages, 3 base experts, T5 + CLIP, style encoder) opened from a
 * folder, through {@link EDiff#open} (ServiceLoader), and from the classpath, then generated from
 * end to end: routing by interval, every toggle combination with and without style, the cascade
 * controls, the prompt cache, truncation, and bad style images.
 */
class ModelBundleTest {

    @TempDir
    static Path tmp;
    static FixtureBundle fixture;
    static EDiff ediff;

    @BeforeAll
    static void open() {
        fixture = FixtureBundle.create(tmp.resolve("bundle"));
        ediff = ModelBundle.open(fixture.dir, FixtureBundle.CPU);
    }

    @AfterAll
    static void close() {
        if (ediff != null) {
            ediff.close();
        }
    }

    static Request.Builder prompt(String p) {
        return Request.prompt(p).seed(42);
    }

    static double[] output(Generation g) {
        return g.sample(0).data();
    }

    static BufferedImage styleImage() {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                img.setRGB(x, y, (x * 6 << 16) | (y * 8 << 8) | 0x30);
            }
        }
        return img;
    }

    static void assertContains(String message, String... fragments) {
        for (String f : fragments) {
            assertTrue(message.contains(f), () -> "expected '" + f + "' in: " + message);
        }
    }

    /**
     * Sessions reuse the native buffers of earlier ones (same shape and layout): a generation after
     * others with different prompts, batch sizes and a style image is bit-identical to the same
     * generation in a freshly opened pipeline.
     */
    @Test
    void reusedSessionBuffersGiveTheSameImagesAsFreshOnes() {
        List<Request> requests = List.of(
                prompt("a red cat").count(2).build(),
                prompt("a blue dog on the hat").count(2).build(),
                prompt("a red cat").count(1).build(),
                prompt("a red cat on the hat").style(styleImage(), 1.0).count(2).build(),
                prompt("a red cat").count(2).build());
        List<double[]> reused = new java.util.ArrayList<>();
        for (Request r : requests) {
            reused.add(ediff.generate(r).samples().stream().flatMapToDouble(x -> java.util.Arrays.stream(x.data())).toArray());
        }
        for (int i = 0; i < requests.size(); i++) {
            try (EDiff fresh = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
                double[] expected = fresh.generate(requests.get(i)).samples().stream()
                        .flatMapToDouble(x -> java.util.Arrays.stream(x.data())).toArray();
                assertArrayEquals(expected, reused.get(i), "request " + i);
            }
        }
        assertArrayEquals(reused.get(0), reused.get(4));
    }

    @Test
    void openingOnAnInterruptedThreadIsCancelledAndKeepsTheFlag() {
        Thread.currentThread().interrupt();
        try {
            dev.ediff.api.CancelledException e = assertThrows(dev.ediff.api.CancelledException.class,
                    () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
            assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag is kept for the caller");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void generatesThroughBothStagesRoutingByInterval() {
        Generation g = ediff.generate(prompt("a red cat on the hat").keepAllStages(true).build());
        assertEquals(List.of("base", "sr"), g.stages().stream().map(StageResult::stage).toList());
        assertEquals(FixtureBundle.BASE_RES, g.stage("base").samples().get(0).shape().height());
        assertEquals(FixtureBundle.SR_RES, g.sample(0).shape().width());
        for (double v : output(g)) {
            assertTrue(Double.isFinite(v), "non-finite output");
        }
        Set<String> used = new HashSet<>();
        for (RoutedEvaluation e : g.stage("base").evaluations()) {
            String expected = e.sigma() < FixtureBundle.BASE_SPLIT_LO ? "low"
                    : e.sigma() < FixtureBundle.BASE_SPLIT_HI ? "mid" : "high";
            assertEquals(expected, e.expert(), "sigma " + e.sigma());
            used.add(e.expert());
        }
        assertEquals(Set.of("low", "mid", "high"), used, "the 8-step schedule visits all three base experts");
        Set<String> srUsed = new HashSet<>();
        for (RoutedEvaluation e : g.stage("sr").evaluations()) {
            assertEquals(e.sigma() < FixtureBundle.SR_SPLIT ? "sr_low" : "sr_high", e.expert(), "sigma " + e.sigma());
            srUsed.add(e.expert());
        }
        assertEquals(Set.of("sr_low", "sr_high"), srUsed);
        assertEquals("fixture-ediff", g.parameters().get("model"));
        assertEquals("base,sr", g.parameters().get("stages"));
        assertEquals("heun", g.stage("base").sampler());
        assertEquals(8, g.stage("base").steps());
        assertEquals("euler", g.stage("sr").sampler());
        assertEquals(4, g.stage("sr").steps());
    }

    @Test
    void ediffOpenFindsTheBundleLoaderAndGivesTheSameResult() {
        Request r = prompt("a blue dog").build();
        try (EDiff viaServiceLoader = EDiff.open(fixture.dir)) {
            assertEquals("fixture-ediff", viaServiceLoader.name());
            assertEquals(List.of("base", "sr"), viaServiceLoader.stages().stream().map(s -> s.name()).toList());
            assertArrayEquals(output(ediff.generate(r)), output(viaServiceLoader.generate(r)), 1e-6);
        }
    }

    @Test
    void opensFromTheClasspathAndAsTheDefaultModel() throws IOException {
        Path root = tmp.resolve("cp");
        copyTree(fixture.dir, root.resolve("models/fixture"));
        copyTree(fixture.dir, root.resolve(ModelBundle.DEFAULT_CLASSPATH_ROOT));
        Request r = prompt("a red cat").build();
        double[] expected = output(ediff.generate(r));
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader cl = new URLClassLoader(new URL[] {root.toUri().toURL()}, previous)) {
            Thread.currentThread().setContextClassLoader(cl);
            try (EDiff fromClasspath = ModelBundle.openClasspath("models/fixture", FixtureBundle.CPU)) {
                assertArrayEquals(expected, output(fromClasspath.generate(r)), 1e-6);
            }
            try (EDiff byDefault = EDiff.openDefault()) {
                assertEquals("fixture-ediff", byDefault.name());
                assertArrayEquals(expected, output(byDefault.generate(r)), 1e-6);
            }
            BundleException e = assertThrows(BundleException.class,
                    () -> ModelBundle.openClasspath("models/none", FixtureBundle.CPU));
            assertContains(e.getMessage(), "classpath:/models/none/", "manifest.json");
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(p, target);
                }
            }
        }
    }

    @Test
    void everyToggleCombinationWithAndWithoutStyleGivesADistinctImage() throws IOException {
        BufferedImage style = styleImage();
        Map<String, double[]> outputs = new java.util.LinkedHashMap<>();
        for (boolean t5 : new boolean[] {true, false}) {
            for (boolean clip : new boolean[] {true, false}) {
                for (boolean styled : new boolean[] {false, true}) {
                    Request.Builder b = prompt("a red cat on the hat").t5(t5).clip(clip);
                    if (styled) {
                        b.style(style, 2.0);
                    }
                    Generation g = ediff.generate(b.build());
                    assertEquals(Boolean.toString(t5), g.parameters().get("t5"));
                    assertEquals(Boolean.toString(clip), g.parameters().get("clip"));
                    outputs.put("t5=" + t5 + " clip=" + clip + " style=" + styled, output(g));
                }
            }
        }
        List<String> keys = new ArrayList<>(outputs.keySet());
        for (int i = 0; i < keys.size(); i++) {
            for (int j = i + 1; j < keys.size(); j++) {
                assertFalse(Arrays.equals(outputs.get(keys.get(i)), outputs.get(keys.get(j))),
                        keys.get(i) + " and " + keys.get(j) + " gave the same image");
            }
        }
        // the same style image from a file gives the same embedding, hence the same image
        Path file = tmp.resolve("style.png");
        ImageIO.write(style, "png", file.toFile());
        Generation fromFile = ediff.generate(prompt("a red cat on the hat").style(file, 2.0).build());
        assertArrayEquals(outputs.get("t5=true clip=true style=true"), output(fromFile), 1e-9);
        assertEquals("style.png", fromFile.parameters().get("style_image"));
        assertEquals("2.0", fromFile.parameters().get("style_strength"));
    }

    /**
     * A super-resolution stage without an image-embedding input (as in the miniature eDiff-I, whose
     * SR experts take text and the low-res image only) still runs under a styled request: the
     * style shapes the base image, and the SR stage refines it with text guidance alone. A base
     * stage without the input refuses the style image with a clear message.
     */
    @Test
    void aStyleImageReachesTheStagesThatTakeIt() {
        FixtureBundle noStyleSr = FixtureBundle.create(tmp.resolve("no-style-sr"));
        noStyleSr.write("sr/low.onnx", FixtureBundle.Expert.sr(21, 0.9f).omit("image_embedding").build())
                .write("sr/high.onnx", FixtureBundle.Expert.sr(22, 0.8f).omit("image_embedding").build())
                .edit(m -> ((com.fasterxml.jackson.databind.node.ObjectNode) noStyleSr.stage(1).get("inputs"))
                        .remove("image_embedding"));
        Request plain = prompt("a red cat").keepAllStages(true).build();
        Request styled = plain.toBuilder().style(styleImage(), 2.0).build();
        try (EDiff e = ModelBundle.open(noStyleSr.dir, FixtureBundle.CPU)) {
            Generation without = e.generate(plain);
            Generation with = e.generate(styled);
            assertFalse(Arrays.equals(without.stage("base").samples().get(0).data(),
                    with.stage("base").samples().get(0).data()), "the style changes the base image");
            assertFalse(Arrays.equals(output(without), output(with)), "and through it the final image");
            assertEquals(without.stage("sr").nfe(), with.stage("sr").nfe(), "the SR stage runs no style branch");
        }
        FixtureBundle noStyleBase = FixtureBundle.create(tmp.resolve("no-style-base"));
        noStyleBase.write("base/low.onnx", FixtureBundle.Expert.base(11, 0.9f).omit("image_embedding").build())
                .write("base/mid.onnx", FixtureBundle.Expert.base(12, 0.9f).omit("image_embedding").build())
                .write("base/high.onnx", FixtureBundle.Expert.base(13, 0.9f).omit("image_embedding").build())
                .edit(m -> ((com.fasterxml.jackson.databind.node.ObjectNode) noStyleBase.stage(0).get("inputs"))
                        .remove("image_embedding"));
        try (EDiff e = ModelBundle.open(noStyleBase.dir, FixtureBundle.CPU)) {
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> e.generate(styled));
            assertContains(x.getMessage(), "'base'", "image embedding", "style");
        }
    }

    @Test
    void bothEncodersOffIsUnconditional() {
        double[] a = output(ediff.generate(prompt("a red cat").t5(false).clip(false).build()));
        double[] b = output(ediff.generate(prompt("blue dog on the hat").negativePrompt("red").t5(false).clip(false).build()));
        double[] c = output(ediff.generate(prompt("").t5(false).clip(false).build()));
        assertArrayEquals(a, b, 0, "with both encoders off the prompt must not matter");
        assertArrayEquals(a, c, 0);
        assertFalse(Arrays.equals(output(ediff.generate(prompt("a red cat").t5(false).build())),
                output(ediff.generate(prompt("blue dog on the hat").t5(false).build()))), "CLIP alone sees the prompt");
        assertFalse(Arrays.equals(output(ediff.generate(prompt("a red cat").clip(false).build())),
                output(ediff.generate(prompt("blue dog on the hat").clip(false).build()))), "T5 alone sees the prompt");
    }

    @Test
    void cascadeControls() {
        Request r = prompt("a cat").build();
        Generation finalOnly = ediff.generate(r);
        assertTrue(finalOnly.stage("base").samples().isEmpty(), "intermediate samples are dropped by default");
        assertEquals(1, finalOnly.samples().size());
        Generation all = ediff.generate(r.toBuilder().keepAllStages(true).build());
        assertEquals(1, all.stage("base").samples().size());
        assertArrayEquals(output(finalOnly), output(all), 0);

        Generation baseOnly = ediff.generate(r.toBuilder().untilStage("base").build());
        assertEquals(List.of("base"), baseOnly.stages().stream().map(StageResult::stage).toList());
        assertEquals(3 * FixtureBundle.BASE_RES * FixtureBundle.BASE_RES, output(baseOnly).length);
        assertArrayEquals(all.stage("base").samples().get(0).data(), output(baseOnly), 0);
        assertEquals("base", baseOnly.parameters().get("stages"));

        Generation overridden = ediff.generate(r.toBuilder()
                .stage("sr", StageOptions.defaults().steps(2).augmentationSigma(0.3)).build());
        assertEquals(2, overridden.stage("sr").steps());
        assertFalse(Arrays.equals(output(finalOnly), output(overridden)));
    }

    @Test
    void unknownStageNamesAreRefusedWithTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ediff.generate(prompt("a cat").untilStage("sr2").build()));
        assertContains(e.getMessage(), "'sr2'", "[base, sr]");
        e = assertThrows(IllegalArgumentException.class, () -> ediff.generate(prompt("a cat")
                .stage("upscale", StageOptions.defaults().steps(3)).build()));
        assertContains(e.getMessage(), "'upscale'", "[base, sr]");
    }

    @Test
    void repeatedPromptsComeFromTheCache() {
        long before = ediff.textCacheHits();
        Request r = prompt("the dog in a photo").untilStage("base").build();
        double[] first = output(ediff.generate(r));
        long afterFirst = ediff.textCacheHits();
        double[] second = output(ediff.generate(r));
        long afterSecond = ediff.textCacheHits();
        assertTrue(afterSecond >= afterFirst + 2, "t5 and clip encodings are cached: " + before + " -> " + afterFirst
                + " -> " + afterSecond);
        assertArrayEquals(first, second, 0);
    }

    @Test
    void aLongPromptIsTruncatedAndTheDroppedWordsAreReported() {
        StringJoiner j = new StringJoiner(" ");
        for (int i = 0; i < 1999; i++) {
            j.add(i % 2 == 0 ? "red" : "cat");
        }
        j.add("zebra");
        String prompt = j.toString();
        Generation g = ediff.generate(prompt(prompt).untilStage("base").build());
        Map<String, Truncation> byEncoder = g.truncations().stream()
                .collect(Collectors.toMap(Truncation::encoder, t -> t));
        assertEquals(Set.of("t5", "clip"), byEncoder.keySet());
        for (Truncation t : byEncoder.values()) {
            assertEquals("prompt", t.prompt());
            assertTrue(t.droppedText().strip().endsWith("zebra"), t.encoder() + " dropped: ..." + tail(t.droppedText()));
            assertTrue(t.droppedText().length() > prompt.length() - 40, "nearly all 2000 words are dropped");
            assertTrue(prompt.endsWith(t.droppedText().strip()), "the dropped text is the prompt's tail");
        }
        // a prompt that fits reports nothing
        assertTrue(ediff.generate(prompt("a red cat").untilStage("base").build()).truncations().isEmpty());
    }

    static String tail(String s) {
        return s.length() <= 40 ? s : s.substring(s.length() - 40);
    }

    @Test
    void anEmptyPromptGenerates() {
        Generation g = ediff.generate(Request.builder().seed(1).build());
        assertTrue(g.truncations().isEmpty());
        assertEquals("", g.parameters().get("prompt"));
        for (double v : output(g)) {
            assertTrue(Double.isFinite(v));
        }
        // "" is still a (short) prompt for the encoders: it differs from switching them off
        assertFalse(Arrays.equals(output(g), output(ediff.generate(Request.builder().seed(1).t5(false).clip(false).build()))));
    }

    @Test
    void badStyleImagesGiveClearErrors() throws Exception {
        EDiffException e = assertThrows(EDiffException.class, () -> ediff.generate(prompt("a cat")
                .style(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB), 1.0).build()));
        assertContains(e.getMessage(), "style image", "1x1", "at least 16");

        Path huge = Files.write(tmp.resolve("huge.png"), pngHeaderOnly(10_000, 10_000));
        e = assertThrows(EDiffException.class, () -> ediff.generate(prompt("a cat").style(huge, 1.0).build()));
        assertContains(e.getMessage(), "huge.png", "10000x10000", "limit");

        Path text = Files.writeString(tmp.resolve("notes.png"), "not an image at all");
        e = assertThrows(EDiffException.class, () -> ediff.generate(prompt("a cat").style(text, 1.0).build()));
        assertContains(e.getMessage(), "notes.png", "not in a readable image format");

        Path missing = tmp.resolve("missing.png");
        e = assertThrows(EDiffException.class, () -> ediff.generate(prompt("a cat").style(missing, 1.0).build()));
        assertContains(e.getMessage(), "missing.png", "does not exist");

        Path tiny = tmp.resolve("tiny.png");
        ImageIO.write(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB), "png", tiny.toFile());
        e = assertThrows(EDiffException.class, () -> ediff.generate(prompt("a cat").style(tiny, 1.0).build()));
        assertContains(e.getMessage(), "tiny.png", "1x1");

        // the pipeline is unharmed
        assertEquals(3 * 16 * 16, output(ediff.generate(prompt("a cat").style(styleImage(), 1.0).build())).length);
    }

    /** A PNG signature and IHDR chunk declaring {@code w x h} pixels, with no image data. */
    static byte[] pngHeaderOnly(int w, int h) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        DataOutputStream c = new DataOutputStream(chunk);
        c.writeBytes("IHDR");
        c.writeInt(w);
        c.writeInt(h);
        c.write(new byte[] {8, 2, 0, 0, 0});
        byte[] body = chunk.toByteArray();
        out.writeInt(13);
        out.write(body);
        CRC32 crc = new CRC32();
        crc.update(body);
        out.writeInt((int) crc.getValue());
        return bytes.toByteArray();
    }
}
