package dev.ediff.onnx.bundle;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.internal.SessionOpener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bundles broken one thing at a time: each is refused when opened with a {@link BundleException}
 * naming the file, the manifest field and what is expected, and leaves no ONNX session behind.
 *
 * <p>Leaks are observed through native threads: opened with two intra-op threads, every ONNX
 * Runtime session owns one pool thread (visible in {@code /proc/self/task}) until it is closed, so
 * a session left open by a failed open would show as a thread that stays.
 */
class BundleValidationTest {

    /** Two intra-op threads: each live session holds one native pool thread. */
    static final SessionConfig PROBE = SessionConfig.builder().intraOpThreads(2).build();
    /** Sessions the fixture opens: 2 text encoders, 3 + 2 experts (the image encoder waits for a style image). */
    static final int SESSIONS = 7;

    @TempDir
    static Path tmp;
    static FixtureBundle fixture;
    static Path outside;

    @BeforeAll
    static void create() throws IOException {
        fixture = FixtureBundle.create(tmp.resolve("bundle"));
        outside = Files.createDirectories(tmp.resolve("outside"));
    }

    @BeforeEach
    void reset() {
        fixture.reset();
    }

    /** After every failure the restored bundle opens again. */
    @AfterEach
    void opensAgainWhenRepaired() {
        fixture.reset();
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertEquals(2, e.stages().size());
        }
    }

    /**
     * Threads the JVM did not name: ONNX Runtime's pool threads keep the process name ("java"),
     * while every JVM thread (Java threads, GC and compiler threads, which come and go on their own
     * under load) carries its own name, so they do not disturb the count.
     */
    static long nativeThreads() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            return s.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).trim().equals("java");
                } catch (IOException gone) {
                    return false; // the thread ended while we looked
                }
            }).count();
        } catch (IOException e) {
            return -1;
        }
    }

    static void assertContains(String message, String... fragments) {
        for (String f : fragments) {
            assertTrue(message.contains(f), () -> "expected '" + f + "' in: " + message);
        }
    }

    /**
     * Opens the fixture twice, expecting a {@link BundleException} whose message holds every
     * fragment (and the bundle's path), and that no session survives the failures.
     */
    static BundleException fails(String... fragments) {
        int before = SessionOpener.liveSessions();
        BundleException last = null;
        for (int i = 0; i < 2; i++) {
            last = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, PROBE).close());
            assertContains(last.getMessage(), fragments);
            assertContains(last.getMessage(), fixture.dir.toString());
        }
        assertEquals(before, SessionOpener.liveSessions(), "a failed open left ONNX sessions open");
        return last;
    }

    /**
     * The leak probe of {@link #fails}: the sessions the SDK has opened and not closed. Beside it,
     * ONNX Runtime's own pool threads (one per session at two intra-op threads) are seen in
     * {@code /proc/self/task} for the sessions this thread creates: those made on the opening pool
     * carry its threads' names instead, so only the image encoder, opened here on the first style
     * image, is counted that way.
     */
    @Test
    void theLeakProbeSeesOpenSessions() {
        dev.ediff.api.Request plain = dev.ediff.api.Request.prompt("a red cat").steps(1).untilStage("base").build();
        dev.ediff.api.Request styledRequest = plain.toBuilder().style(ModelBundleTest.styleImage(), 1.0).build();
        try (EDiff warm = ModelBundle.open(fixture.dir, PROBE)) { // Java threads a generation starts lazily are not sessions'
            warm.generate(plain);
            warm.generate(styledRequest);
        }
        int before = SessionOpener.liveSessions();
        long threadsBefore = nativeThreads();
        EDiff e = ModelBundle.open(fixture.dir, PROBE);
        int open = SessionOpener.liveSessions();
        e.generate(plain);
        int unstyled = SessionOpener.liveSessions();
        long threadsUnstyled = nativeThreads();
        e.generate(styledRequest);
        int styled = SessionOpener.liveSessions();
        long threadsStyled = nativeThreads();
        e.close();
        int closed = SessionOpener.liveSessions();
        long threadsClosed = nativeThreads();
        assertEquals(before + SESSIONS, open, "every model but the image encoder has a session");
        assertEquals(open, unstyled, "no style image: the image encoder stays closed");
        assertEquals(unstyled + 1, styled, "the first style image opens it");
        assertEquals(before, closed, "closing releases them all");
        if (threadsBefore > 0) {
            assertTrue(threadsStyled > threadsUnstyled, "the image encoder's session holds a pool thread: "
                    + threadsUnstyled + " -> " + threadsStyled);
            assertTrue(threadsClosed - threadsBefore < 2, "closing releases the native threads: " + threadsBefore
                    + " -> " + threadsClosed);
        }
    }

    // ------------------------------------------------------------------ files

    @Test
    void missingManifest() {
        fixture.delete(Manifest.FILE);
        fails("manifest.json", "does not exist");
        EDiffException e = assertThrows(EDiffException.class, () -> EDiff.open(fixture.dir));
        assertContains(e.getMessage(), fixture.dir.toString(), "manifest.json");
        e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir.resolve("t5/encoder.onnx")));
        assertContains(e.getMessage(), "encoder.onnx", "is not a folder", "manifest.json");
    }

    @Test
    void missingModelFile() {
        fixture.delete("base/mid.onnx");
        fails("stages[0].experts[1].model", "'base/mid.onnx'", "does not exist");
    }

    @Test
    void missingTokenizer() {
        fixture.delete("clip/tokenizer.json");
        fails("text_encoders[1].tokenizer", "'clip/tokenizer.json'", "does not exist");
    }

    @Test
    void notAnOnnxFile() {
        fixture.write("sr/low.onnx", "definitely not protobuf \u00ff\u00ff\u00ff".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fails("sr/low.onnx", "stages[1].experts[0].model", "is not a valid ONNX model file");
    }

    /** #13: a 2.5 GB model file is refused from its size, without being read (a sparse file: no disk, no time). */
    @Test
    void anOversizedModelFileIsRefusedUnread() throws Exception {
        refusedUnread(2_500_000_000L, "2500000000 bytes", "smaller than 2 GiB");
    }

    /** Just under the limit: mapped, not read onto the heap, and refused at its first bytes (zeros are no protobuf). */
    @Test
    void aLargeFileOfZerosIsRefusedQuickly() throws Exception {
        refusedUnread(2_000_000_000L, "is not a valid ONNX model file", "field number 0");
    }

    /** base/mid.onnx as a sparse file of {@code size} zero bytes: refused with {@code fragments}, without reading it onto the heap. */
    private void refusedUnread(long size, String... fragments) throws Exception {
        java.nio.file.Path big = fixture.dir.resolve("base/mid.onnx");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(size);
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long allocated = mx.getCurrentThreadAllocatedBytes();
        String[] expected = new String[fragments.length + 2];
        expected[0] = "base/mid.onnx";
        expected[1] = "stages[0].experts[1].model";
        System.arraycopy(fragments, 0, expected, 2, fragments.length);
        fails(expected);
        allocated = mx.getCurrentThreadAllocatedBytes() - allocated;
        assertTrue(allocated < 200_000_000, "the file was not read onto the heap: " + allocated + " bytes allocated");
    }

    @Test
    void notATokenizer() {
        fixture.write("t5/tokenizer.json", "{\"model\": {\"type\": \"WordPiece\"}}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fails("text_encoders[0].tokenizer", "t5/tokenizer.json", "model.type", "Unigram");
    }

    // ------------------------------------------------------------------ paths from strangers

    @Test
    void absolutePath() {
        fixture.edit(m -> fixture.expert(0, 0).put("model", "/etc/passwd"));
        fails("stages[0].experts[0].model", "'/etc/passwd'", "is absolute", "relative to the bundle folder");
        fixture.reset().edit(m -> fixture.textEncoder(1).put("model", "C:/models/clip.onnx"));
        fails("text_encoders[1].model", "is absolute");
    }

    @Test
    void dotDotPath() {
        fixture.edit(m -> fixture.textEncoder(0).put("tokenizer", "t5/../../bundle/t5/tokenizer.json"));
        fails("text_encoders[0].tokenizer", "leaves the bundle folder ('..')");
        fixture.reset().edit(m -> ((ObjectNode) m.get("image_encoder")).put("model", "clip\\image.onnx"));
        fails("image_encoder.model", "backslash");
    }

    @Test
    void symbolicLinkLeavingTheBundle() throws IOException {
        Path elsewhere = outside.resolve("high.onnx");
        Files.write(elsewhere, FixtureBundle.files().get("base/high.onnx"));
        Path link = fixture.dir.resolve("base/high.onnx");
        Files.delete(link);
        Files.createSymbolicLink(link, elsewhere);
        fails("stages[0].experts[2].model", "'base/high.onnx'", "outside the bundle folder", "symbolic links");
        // a link that stays inside the bundle is fine
        fixture.reset();
        Files.createSymbolicLink(fixture.dir.resolve("base/alias.onnx"), Path.of("high.onnx"));
        fixture.edit(m -> fixture.expert(0, 2).put("model", "base/alias.onnx"));
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertEquals("base", e.stages().get(0).name());
        } finally {
            fixture.delete("base/alias.onnx");
        }
    }

    @Test
    void externalDataLeavingTheBundle() throws IOException {
        byte[] high = FixtureBundle.files().get("base/high.onnx");
        fixture.write("base/high.onnx", FixtureBundle.withExternalData(high, "../../etc/passwd", null));
        fails("base/high.onnx", "external data of stages[0].experts[2].model", "'../../etc/passwd'",
                "leaves the bundle folder");

        fixture.write("base/high.onnx", FixtureBundle.withExternalData(high, "/etc/passwd", null));
        fails("external data of stages[0].experts[2].model", "is absolute");

        // a weights file that is a symbolic link out of the bundle
        AtomicReference<byte[]> raw = new AtomicReference<>();
        fixture.write("base/high.onnx", FixtureBundle.withExternalData(high, "high.weights", raw::set));
        Path weights = outside.resolve("high.weights");
        Files.write(weights, raw.get());
        Files.createSymbolicLink(fixture.dir.resolve("base/high.weights"), weights);
        fails("external data of stages[0].experts[2].model", "outside the bundle folder");
        fixture.delete("base/high.weights");
        fails("external data of stages[0].experts[2].model", "'base/high.weights'", "does not exist");
    }

    @Test
    void externalDataInsideTheBundleWorksFromAFolderButNotFromTheClasspath() throws IOException {
        Request r = Request.prompt("a red cat").seed(3).untilStage("base").build();
        double[] expected;
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            expected = e.generate(r).sample(0).data();
        }
        AtomicReference<byte[]> raw = new AtomicReference<>();
        fixture.write("base/high.onnx", FixtureBundle.withExternalData(FixtureBundle.files().get("base/high.onnx"),
                "high.weights", raw::set));
        fixture.write("base/high.weights", raw.get());
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertArrayEquals(expected, e.generate(r).sample(0).data(), 1e-6);
        }
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader cl = new URLClassLoader(new URL[] {tmp.toUri().toURL()}, previous)) {
            Thread.currentThread().setContextClassLoader(cl);
            BundleException e = assertThrows(BundleException.class, () -> ModelBundle.openClasspath("bundle", PROBE));
            assertContains(e.getMessage(), "classpath:/bundle/base/high.onnx", "stages[0].experts[2].model",
                    "high.weights", "self-contained");
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
            fixture.delete("base/high.weights");
        }
    }

    // ------------------------------------------------------------------ tensors

    @Test
    void wrongInputName() {
        fixture.write("sr/high.onnx", FixtureBundle.Expert.sr(22, 0.8f).rename("x", "x_in").build());
        fails("stages[1].experts[1].model", "sr/high.onnx", "input 'x'", "no such input", "'x_in'");
        fixture.reset().write("base/mid.onnx", FixtureBundle.Expert.base(12, 0.8f).rename("clip_pooled", "pooled").build());
        fails("stages[0].experts[1].model", "base/mid.onnx", "'clip_pooled'", "no such input", "'pooled'");
        fixture.reset().write("base/high.onnx", FixtureBundle.Expert.base(13, 0.8f).extraInput("extra").build());
        fails("stages[0].experts[2].model", "'extra'", "does not map");
        fixture.reset().edit(m -> fixture.stage(0).put("output", "D"));
        fails("stages[0].experts[0].model", "output 'D'", "'denoised'");
    }

    @Test
    void wrongRank() {
        fixture.write("base/high.onnx", FixtureBundle.Expert.base(13, 0.8f).t5TokensRank2().build());
        fails("stages[0].experts[2]", "base/high.onnx", "'t5_tokens'", "rank 2", "expected rank 3");
        fixture.reset().edit(m -> ((ObjectNode) fixture.stage(1).get("inputs")).put("sigma_shape", "batch_1"));
        fails("stages[1].experts[0].model", "'sigma'", "rank 2");
    }

    @Test
    void wrongDtype() {
        fixture.write("base/mid.onnx", FixtureBundle.Expert.base(12, 0.8f).type("x", DataType.DOUBLE).build());
        fails("stages[0].experts[1].model", "base/mid.onnx", "'x'", "float64", "float32");
        fixture.reset().write("t5/encoder.onnx",
                new FixtureBundle.TextEncoderGraph(false, 80).idsType(DataType.FLOAT).build());
        fails("text_encoders[0].model", "t5/encoder.onnx", "'input_ids'", "INT64", "float32");
    }

    @Test
    void expertWidthDisagreesWithTheEncoder() {
        fixture.write("base/high.onnx", FixtureBundle.Expert.base(13, 0.8f).t5Width(FixtureBundle.T5_DIM + 1).build());
        fails("stages[0].experts[2]", "base/high.onnx", "'t5_tokens'", "width 7", "text_encoders(t5).dim is 6");
        fixture.reset().write("sr/low.onnx", FixtureBundle.Expert.sr(21, 0.8f).imageWidth(FixtureBundle.IMAGE_DIM + 3).build());
        fails("stages[1].experts[0]", "sr/low.onnx", "'image_embedding'", "width 7", "image_encoder.dim is 4");
        fixture.reset().write("base/low.onnx", FixtureBundle.Expert.base(11, 0.8f).t5Len(FixtureBundle.T5_LEN + 2).build());
        fails("stages[0].experts[0]", "base/low.onnx", "takes 10 tokens", "text_encoders(t5).max_tokens is 8");
        // the manifest's dim disagrees with the encoder's own output
        fixture.reset().edit(m -> fixture.textEncoder(0).put("dim", FixtureBundle.T5_DIM + 1));
        fails("text_encoders[0].model", "t5/encoder.onnx", "'tokens'", "dim = 7");
    }

    @Test
    void maxTokensTooSmallForTheTokenizersSpecialTokens() {
        // a length-agnostic CLIP encoder with room for no token at all: refused when opening, not when generating
        fixture.write("clip/text.onnx", new FixtureBundle.TextEncoderGraph(true, 600).dynamicLength().build())
                .write("base/low.onnx", FixtureBundle.Expert.base(11, 0.9f).dynamicTokens().build())
                .write("base/mid.onnx", FixtureBundle.Expert.base(12, 0.9f).dynamicTokens().build())
                .write("base/high.onnx", FixtureBundle.Expert.base(13, 0.9f).dynamicTokens().build())
                .write("sr/low.onnx", FixtureBundle.Expert.sr(21, 0.9f).dynamicTokens().build())
                .write("sr/high.onnx", FixtureBundle.Expert.sr(22, 0.9f).dynamicTokens().build());
        fixture.edit(m -> fixture.textEncoder(1).put("max_tokens", 4));
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertEquals(3 * 16 * 16, e.generate(Request.prompt("a red cat").seed(1).build()).sample(0).data().length,
                    "length-agnostic experts take 4 CLIP tokens");
        }
        fixture.edit(m -> fixture.textEncoder(1).put("max_tokens", 1));
        fails("text_encoders[1].max_tokens", "clip/tokenizer.json", "special tokens");
    }

    @Test
    void padIdThatDisagreesWithTheTokenizerFile() {
        fixture.edit(m -> fixture.textEncoder(0).put("pad_id", 1));
        fails("text_encoders[0].pad_id is 1", "t5/tokenizer.json", "pads with id 0", "set pad_id to 0");
        // CLIP pads with its end token, 517 in the fixture's small vocabulary (the fixture states no
        // pad_id for it; stating the right one is fine)
        fixture.reset().edit(m -> fixture.textEncoder(1).put("pad_id", 517));
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertEquals(2, e.stages().size());
        }
        fixture.reset().edit(m -> fixture.textEncoder(1).put("pad_id", 0));
        fails("text_encoders[1].pad_id is 0", "clip/tokenizer.json", "pads with id 517");
    }

    @Test
    void encoderWithASmallerVocabularyThanItsTokenizer() {
        // the fixture's CLIP tokenizer has 518 ids; this encoder's embedding table only 300 rows
        fixture.write("clip/text.onnx", new FixtureBundle.TextEncoderGraph(true, 300).build());
        fails("text_encoders[1].model", "clip/text.onnx", "the tokenizer has 518 ids", "fails on id 517");
    }

    @Test
    void roleWithoutItsEncoder() {
        fixture.edit(m -> ((ArrayNode) m.get("text_encoders")).remove(1));
        fails("stages[0].inputs.clip_", "text encoder with role 'clip'", "does not declare");
        fixture.reset().edit(m -> m.remove("image_encoder"));
        fails("stages[0].inputs.image_embedding", "image_encoder");
    }

    // ------------------------------------------------------------------ intervals

    @Test
    void intervalsWithAGap() {
        fixture.edit(m -> fixture.expert(0, 1).put("sigma_lo", 0.6));
        fails("stages[0].experts do not tile", "gap", "0.5", "0.6", "contiguous");
        fixture.reset().edit(m -> ((ArrayNode) fixture.stage(0).get("experts")).remove(2));
        fails("stages[0].experts do not tile", "gap above", "80.0");
        fixture.reset().edit(m -> fixture.expert(0, 0).put("sigma_lo", 0.01));
        fails("stages[0].experts do not tile", "gap below", "0.002");
    }

    @Test
    void intervalsThatOverlap() {
        fixture.edit(m -> fixture.expert(0, 1).put("sigma_lo", 0.4));
        fails("stages[0].experts do not tile", "overlap", "low", "mid");
        fixture.reset().edit(m -> fixture.expert(1, 0).put("sigma_hi", 5.0));
        fails("stages[1].experts do not tile", "overlap", "sr_low", "sr_high");
        fixture.reset().edit(m -> fixture.expert(0, 1).put("sigma_hi", 0.5));
        fails("stages[0].experts[1]", "sigma_hi 0.5 <= sigma_lo 0.5");
    }

    // ------------------------------------------------------------------ manifest fields

    @Test
    void superResolutionStageWithoutAugmentationSigma() {
        fixture.edit(m -> ((ObjectNode) fixture.stage(1).get("inputs")).remove("augmentation_sigma"));
        fails("stages[1]", "super-resolution", "'low_res' and 'augmentation_sigma'");
        fixture.reset().edit(m -> ((ObjectNode) fixture.stage(1).get("defaults")).remove("augmentation_sigma"));
        fails("stages[1].defaults.augmentation_sigma is required");
        fixture.reset().edit(m -> fixture.stage(1).remove("defaults"));
        fails("stages[1].defaults.augmentation_sigma is required");
    }

    @Test
    void unknownFields() {
        fixture.edit(m -> m.put("stagez", 1));
        fails("unknown field 'stagez'", "allowed here", "stages");
        fixture.reset().edit(m -> fixture.expert(0, 0).put("sigma_high", 0.5));
        fails("unknown field 'stages[0].experts[0].sigma_high'", "sigma_hi");
        fixture.reset().edit(m -> ((ObjectNode) fixture.stage(0).get("inputs")).put("t5_token", "t5_tokens"));
        fails("stages[0].inputs.t5_token is not a known role", "t5_tokens");
    }

    @Test
    void wrongValues() {
        fixture.edit(m -> m.put("format_version", 2));
        fails("format_version");
        fixture.reset().edit(m -> fixture.stage(0).put("parameterization", "epsilon"));
        fails("stages[0].parameterization is 'epsilon'", "x0");
        fixture.reset().edit(m -> ((ObjectNode) fixture.stage(0).get("defaults")).put("sampler", "ddim"));
        fails("stages[0].defaults.sampler 'ddim' is unknown", "heun");
        fixture.reset().edit(m -> fixture.stage(1).put("name", "base"));
        fails("stages[1].name 'base' is used twice");
        fixture.reset().edit(m -> fixture.textEncoder(1).put("role", "t5"));
        fails("text_encoders[1].role 't5' appears twice");
        fixture.reset().edit(m -> fixture.stage(0).putArray("resolution").add(8));
        fails("stages[0].resolution must be [height, width]");
        fixture.reset().edit(m -> fixture.stage(0).put("sigma_min", 100.0));
        fails("stages[0].sigma_min (100.0) must be below sigma_max (80.0)");
        fixture.reset().edit(m -> fixture.textEncoder(0).put("max_tokens", "8"));
        fails("text_encoders[0].max_tokens must be an integer");
    }
}
