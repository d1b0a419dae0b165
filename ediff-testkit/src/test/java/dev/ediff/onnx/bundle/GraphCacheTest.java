package dev.ediff.onnx.bundle;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.internal.GraphCache;
import dev.ediff.onnx.internal.SessionOpener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The optimized-graph cache ({@link GraphCache}) on the fixture bundle (the default bundle's
 * layout, with a {@code sha256} for every file; the shipped model is tested the same way in
 * ediff-model-mini's {@code DefaultModelGraphCacheTest}), from a folder and from the classpath: a generation with the
 * cache cold (entries written) and warm (sessions opened from the entries with optimization off)
 * gives pixels bit-identical to the cache turned off; damaged entries (truncated, a flipped byte,
 * a sound checksum over a graph ONNX Runtime refuses) are detected, deleted and written again,
 * with the same pixels; a cache folder that cannot be written opens normally; no session leaks.
 * Entries are in the ONNX format by default; in the ORT format ({@value GraphCache#FORMAT_PROPERTY}
 * {@code =ort}) the sessions read them in place from the mapped file, with the same pixels, and the
 * mappings live exactly as long as the sessions (also under a lazy residency, which releases and
 * reopens them).
 * Every case uses its own temporary cache folder ({@value GraphCache#DIR_PROPERTY}).
 */
class GraphCacheTest {

    /** The fixture's models opened at open: 2 text encoders, 3 base and 2 SR experts (the image encoder opens on a style image). */
    private static final int SESSIONS = 7;
    private static final SessionConfig ON = SessionConfig.builder().intraOpThreads(1).build();
    private static final SessionConfig OFF = ON.toBuilder().graphCache(false).build();
    private static final Request REQUEST = Request.prompt("a red cat on the hat").seed(7).steps(3).build();

    @TempDir
    Path tmp;
    @TempDir
    static Path shared;

    private static FixtureBundle fixture;
    private static double[] reference;

    @BeforeAll
    static void reference() throws IOException {
        fixture = FixtureBundle.create(shared.resolve("bundle"));
        addDigests(fixture);
        reference = generate(OFF);
    }

    /** Puts every model file's sha256 into the manifest (the cache keys sessions by it); returns the files. */
    private static List<String> addDigests(FixtureBundle f) throws IOException {
        List<String> models;
        try (Stream<Path> files = Files.walk(f.dir)) {
            models = files.filter(Files::isRegularFile).map(p -> f.dir.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> p.endsWith(".onnx") || p.endsWith(".weights")).sorted().toList();
        }
        f.edit(m -> {
            com.fasterxml.jackson.databind.node.ObjectNode digests = m.putObject("sha256");
            for (String file : models) {
                digests.put(file, sha256(f.dir.resolve(file)));
            }
        });
        return models;
    }

    /** The build's cache folder (surefire sets it), restored after each case: never the user's. */
    private static final String BUILD_DIR = System.getProperty(GraphCache.DIR_PROPERTY);

    @AfterEach
    void restore() {
        restoreProperties(BUILD_DIR);
    }

    /**
     * Puts the graph cache's system properties back: the folder as the build set it (read by the
     * caller before any test changed it), the switch and the format unset.
     */
    static void restoreProperties(String buildDir) {
        if (buildDir == null) {
            System.clearProperty(GraphCache.DIR_PROPERTY);
        } else {
            System.setProperty(GraphCache.DIR_PROPERTY, buildDir);
        }
        System.clearProperty(GraphCache.PROPERTY);
        System.clearProperty(GraphCache.FORMAT_PROPERTY);
    }

    private static double[] generate(SessionConfig config) {
        int before = SessionOpener.liveSessions();
        double[] out;
        try (EDiff e = ModelBundle.open(fixture.dir, config)) {
            assertEquals(before + SESSIONS, SessionOpener.liveSessions());
            out = e.generate(REQUEST).sample(0).data();
        }
        assertEquals(before, SessionOpener.liveSessions(), "sessions left open");
        return out;
    }

    private static long[] delta(long[] before) {
        long[] now = GraphCache.counts();
        return new long[] {now[0] - before[0], now[1] - before[1], now[2] - before[2]};
    }

    private static List<Path> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    private Path useCache() {
        Path dir = tmp.resolve("graphs");
        System.setProperty(GraphCache.DIR_PROPERTY, dir.toString());
        return dir;
    }

    @Test
    void coldThenWarmGiveTheSamePixelsAsNoCache() throws IOException {
        Path dir = useCache();
        // a temporary file a killed process left two hours ago, and one being written now by another
        Files.createDirectories(dir);
        Path stale = Files.writeString(dir.resolve("0123abcd.111.part"), "half a graph");
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000L));
        Path fresh = Files.writeString(dir.resolve("0123abcd.222.part"), "being written");
        long[] c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON), "cold cache");
        assertArrayEquals(new long[] {0, SESSIONS, 0}, delta(c), "hits, writes, rejected (cold)");
        assertTrue(Files.exists(fresh) && !Files.exists(stale), "only the stale temporary file is removed");
        Files.delete(fresh);
        List<Path> written = entries(dir);
        assertEquals(SESSIONS, written.size(), "one entry per model, no temporary files: " + written);
        assertTrue(written.stream().allMatch(p -> p.getFileName().toString().endsWith(".onnx")), written::toString);

        c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON), "warm cache");
        assertArrayEquals(new long[] {SESSIONS, 0, 0}, delta(c), "hits, writes, rejected (warm)");
        assertEquals(written, entries(dir));

        // from the classpath (the models handed to ONNX Runtime as bytes): the same entries
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (java.net.URLClassLoader cl = new java.net.URLClassLoader(new java.net.URL[] {shared.toUri().toURL()}, previous)) {
            Thread.currentThread().setContextClassLoader(cl);
            c = GraphCache.counts();
            try (EDiff e = ModelBundle.openClasspath("bundle", ON)) {
                assertArrayEquals(reference, e.generate(REQUEST).sample(0).data(), "from the classpath, warm");
            }
            assertArrayEquals(new long[] {SESSIONS, 0, 0}, delta(c), "hits, writes, rejected (classpath)");
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    @Test
    void theSwitchesTurnItOff() throws IOException {
        Path dir = useCache();
        long[] c = GraphCache.counts();
        assertArrayEquals(reference, generate(OFF));
        System.setProperty(GraphCache.PROPERTY, "false");
        assertArrayEquals(reference, generate(ON));
        assertArrayEquals(new long[] {0, 0, 0}, delta(c));
        assertTrue(!Files.exists(dir) || entries(dir).isEmpty());
    }

    @Test
    void damagedEntriesAreReplacedAndThePixelsStayTheSame() throws IOException {
        Path dir = useCache();
        generate(ON);
        List<Path> written = entries(dir);
        // 1. truncated
        byte[] a = Files.readAllBytes(written.get(0));
        Files.write(written.get(0), java.util.Arrays.copyOf(a, a.length / 2));
        // 2. one byte flipped (same length)
        byte[] b = Files.readAllBytes(written.get(1));
        b[b.length / 2] ^= 0x5a;
        Files.write(written.get(1), b);
        // 3. a sound length and checksum over bytes that are no ONNX graph
        byte[] junk = "not an onnx graph".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(junk);
        String name = written.get(2).getFileName().toString();
        String key = name.substring(0, name.indexOf('-'));
        Files.delete(written.get(2));
        Path forged = dir.resolve(key + "-" + junk.length + "-" + String.format(Locale.ROOT, "%08x", crc.getValue()) + ".onnx");
        Files.write(forged, junk);

        long[] c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON), "with damaged entries");
        assertArrayEquals(new long[] {SESSIONS - 3, 3, 3}, delta(c), "hits, writes, rejected");
        List<Path> now = entries(dir);
        // Written again for the same keys and lengths; the checksums may differ: ONNX Runtime numbers the
        // nodes it inserts from a process-wide counter.
        assertEquals(withoutChecksums(written), withoutChecksums(now), "the same entries, written again, nothing else");
        assertTrue(now.containsAll(written.subList(3, written.size())), "the sound entries are untouched");
        assertEquals(a.length, Files.size(now.stream().filter(p -> p.getFileName().toString()
                .startsWith(written.get(0).getFileName().toString().substring(0, 33))).findFirst().orElseThrow()));
        assertNotEquals(b.length, 0);

        c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON), "warm again");
        assertArrayEquals(new long[] {SESSIONS, 0, 0}, delta(c));
    }

    @Test
    void aFolderThatCannotBeWrittenOpensNormally() throws IOException {
        Path file = Files.writeString(tmp.resolve("not-a-folder"), "x");
        System.setProperty(GraphCache.DIR_PROPERTY, file.resolve("graphs").toString());
        long[] c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON));
        assertArrayEquals(new long[] {0, 0, 0}, delta(c));

        Path readOnly = Files.createDirectory(tmp.resolve("read-only"));
        System.setProperty(GraphCache.DIR_PROPERTY, readOnly.toString());
        assertTrue(readOnly.toFile().setWritable(false, false));
        try {
            c = GraphCache.counts();
            assertArrayEquals(reference, generate(ON));
            if (!Files.isWritable(readOnly)) { // root writes anyway
                assertArrayEquals(new long[] {0, 0, 0}, delta(c));
                assertEquals(List.of(), entries(readOnly));
            }
        } finally {
            readOnly.toFile().setWritable(true, false);
        }
    }

    @Test
    void modelsWithExternalDataAreNotCached() throws IOException {
        Path dir = useCache();
        FixtureBundle external = FixtureBundle.create(tmp.resolve("bundle"));
        AtomicReference<byte[]> raw = new AtomicReference<>();
        external.write("base/high.onnx", FixtureBundle.withExternalData(FixtureBundle.files().get("base/high.onnx"),
                "high.weights", raw::set));
        external.write("base/high.weights", raw.get());
        List<String> models = addDigests(external);
        Request r = Request.prompt("a red cat").seed(3).untilStage("base").build();
        double[] expected;
        try (EDiff e = ModelBundle.open(external.dir, OFF)) {
            expected = e.generate(r).sample(0).data();
        }
        long[] c = GraphCache.counts();
        for (int i = 0; i < 2; i++) {
            try (EDiff e = ModelBundle.open(external.dir, ON)) {
                assertArrayEquals(expected, e.generate(r).sample(0).data());
            }
        }
        long[] d = delta(c);
        assertTrue(d[1] >= 1 && models.contains("base/high.onnx"), "some model cached: " + models);
        assertEquals(0, d[2]);
        assertEquals(d[0], d[1], "every model written once and then read, but not the one with external data");
        assertEquals(d[1], entries(dir).size());
        // every model opened but the one with external data (not the image encoder: it opens on a style image)
        assertEquals(SESSIONS - 1, entries(dir).size(), "entries " + entries(dir) + " for " + models);
    }

    /** Entry names without their checksum part: key and length. */
    private static List<String> withoutChecksums(List<Path> entries) {
        return entries.stream().map(p -> p.getFileName().toString().replaceAll("-[0-9a-f]{8}\\.(onnx|ort)$", ""))
                .sorted().toList();
    }

    /** The cache entries of {@code dir} this process has mapped now ({@code /proc/self/maps}), or -1 without /proc. */
    private static long mapped(Path dir) throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return -1;
        }
        String prefix = dir.toRealPath().toString();
        try (Stream<String> lines = Files.lines(maps)) {
            return lines.filter(l -> l.contains(prefix)).map(l -> l.substring(l.indexOf('/'))).distinct().count();
        }
    }

    @Test
    void ortFormatEntriesAreMappedAsLongAsTheirSessionsLiveAlsoUnderALazyResidency() throws IOException {
        Path dir = useCache();
        System.setProperty(GraphCache.FORMAT_PROPERTY, "ort");
        assertArrayEquals(reference, generate(ON), "cold, ORT format"); // entries written, nothing mapped
        List<Path> written = entries(dir);
        assertTrue(written.size() == SESSIONS && written.stream().allMatch(p -> p.toString().endsWith(".ort")),
                written::toString);
        assertTrue(mapped(dir) <= 0, "nothing mapped after a cold open is closed");
        try (EDiff e = ModelBundle.open(fixture.dir, ON)) {
            long m = mapped(dir);
            assertTrue(m == -1 || m == SESSIONS, "every warm session reads its mapped entry: " + m);
            assertArrayEquals(reference, e.generate(REQUEST).sample(0).data());
        }
        assertTrue(mapped(dir) <= 0, "closing the sessions unmapped their entries");

        dev.ediff.onnx.Residency lazy = dev.ediff.onnx.Residency.of(dev.ediff.api.MemoryMode.LAZY);
        long[] c = GraphCache.counts();
        try (EDiff e = ModelBundle.open(new BundleSource.Folder(fixture.dir), ON, true, lazy)) {
            assertTrue(mapped(dir) <= 0, "released after the checks at open");
            for (int run = 0; run < 2; run++) {
                assertArrayEquals(reference, e.generate(REQUEST).sample(0).data(), "lazy, run " + run);
                assertTrue(mapped(dir) <= 0, "released after generation " + run);
            }
        }
        assertTrue(delta(c)[0] > SESSIONS, "the reloads were opened from the entries: " + delta(c)[0]);
        assertEquals(0, delta(c)[1], "nothing written again");
        assertEquals(0, lazy.loadedNow());
    }

    @Test
    void theTwoFormatsKeepTheirOwnEntries() throws IOException {
        Path dir = useCache();
        long[] c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON), "cold, ONNX format");
        try (EDiff e = ModelBundle.open(fixture.dir, ON)) {
            assertTrue(mapped(dir) <= 0, "ONNX-format sessions keep their own copy: nothing stays mapped");
            assertArrayEquals(reference, e.generate(REQUEST).sample(0).data(), "warm, ONNX format");
        }
        assertArrayEquals(new long[] {SESSIONS, SESSIONS, 0}, delta(c));
        System.setProperty(GraphCache.FORMAT_PROPERTY, "ORT "); // case and spaces do not matter
        c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON), "ORT format beside the ONNX entries");
        assertArrayEquals(new long[] {0, SESSIONS, 0}, delta(c), "entries of the other format are not read");
        assertEquals(2 * SESSIONS, entries(dir).size());
        System.setProperty(GraphCache.FORMAT_PROPERTY, "protobuf"); // not a format: the default, with a warning
        c = GraphCache.counts();
        assertArrayEquals(reference, generate(ON));
        assertArrayEquals(new long[] {SESSIONS, 0, 0}, delta(c));
    }

    private static String sha256(Path f) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(Files.readAllBytes(f)));
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
