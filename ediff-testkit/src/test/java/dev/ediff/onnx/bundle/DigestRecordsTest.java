package dev.ediff.onnx.bundle;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.internal.GraphCache;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The digests verified by an earlier process ({@link DigestRecords}): after an open, every file with
 * a manifest digest has a record holding its SHA-256 (computed here independently), models marked
 * self-contained; a record is used only for the exact version of the file it names (a file changed
 * in place, or a rebuilt jar, is hashed again and refused when it no longer matches); a recorded
 * digest is still checked against the manifest; a damaged record is ignored; and a classpath bundle
 * opened from records alone, with its graphs not cached (so its models are read when the sessions
 * are made), generates the same pixels as with records and the graph cache off.
 */
class DigestRecordsTest extends RecordedBundleTest {

    private static final SessionConfig NO_GRAPH_CACHE = FixtureBundle.CPU.toBuilder().graphCache(false).build();
    private static final Request REQUEST = Request.prompt("a red cat on the hat").seed(3).steps(3).build();

    @Test
    void anOpenRecordsEveryVerifiedFileWithItsDigest() throws Exception {
        BundleCacheTest.settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        assertEquals(tmp.resolve("graphs.verified"), DigestRecords.folder());
        for (Map.Entry<String, byte[]> e : FixtureBundle.files().entrySet()) {
            Path p = fixture.dir.resolve(e.getKey());
            DigestRecords.Entry r = DigestRecords.get(FileStamp.of(p));
            assertNotNull(r, e.getKey());
            assertEquals(BundleIntegrityTest.sha256(Files.readAllBytes(p)), r.sha256(), e.getKey());
            assertEquals(e.getKey().endsWith(".onnx"), r.selfContained(), e.getKey());
        }
    }

    @Test
    void nothingIsRecordedWithTheGraphCacheOffOrForAFileJustWritten() throws Exception {
        System.setProperty(GraphCache.PROPERTY, "false");
        BundleCacheTest.settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        assertFalse(Files.exists(tmp.resolve("graphs.verified")));
        System.clearProperty(GraphCache.PROPERTY);
        FileStamp.racyNanos = TimeUnit.HOURS.toNanos(1); // every file is "just written"
        try {
            ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        } finally {
            FileStamp.racyNanos = TimeUnit.MILLISECONDS.toNanos(BundleCacheTest.RACY_MILLIS);
        }
        assertFalse(Files.exists(tmp.resolve("graphs.verified")));
    }

    @Test
    void aRecordedDigestIsStillCheckedAgainstTheManifest() throws Exception {
        BundleCacheTest.settle();
        Path mid = fixture.dir.resolve("base/mid.onnx");
        FileStamp stamp = FileStamp.of(mid);
        DigestRecords.put(stamp, stamp, BundleIntegrityTest.sha256("other content".getBytes(StandardCharsets.UTF_8)), true);
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
        assertTrue(e.getMessage().contains(fixture.dir + "/base/mid.onnx is damaged or was changed"), e.getMessage());
    }

    @Test
    void aFileChangedInPlaceAfterItWasRecordedIsHashedAgainAndRefused() throws Exception {
        BundleCacheTest.settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        for (String file : new String[] {"base/mid.onnx", "clip/tokenizer.json"}) {
            Path p = fixture.dir.resolve(file);
            BundleCacheTest.flipMiddleBitKeepingModifiedTime(p);
            BundleCacheTest.settle();
            BundleCache.clear(); // a fresh process: only the records remain
            BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
            assertTrue(e.getMessage().contains(fixture.dir + "/" + file + " is damaged or was changed"), e.getMessage());
            BundleCacheTest.flipMiddleBitKeepingModifiedTime(p); // back to the original bytes
        }
    }

    @Test
    void aDamagedRecordIsIgnoredAndWrittenAgain() throws Exception {
        BundleCacheTest.settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        FileStamp stamp = FileStamp.of(fixture.dir.resolve("base/low.onnx"));
        Path record = DigestRecords.file(stamp);
        String good = Files.readString(record);
        Files.writeString(record, good.substring(0, good.length() / 2));
        assertNull(DigestRecords.get(stamp));
        BundleCache.clear();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        assertEquals(good, Files.readString(record));
    }

    @Test
    void aJarBundleOpenedFromRecordsReadsItsModelsWhenNoGraphIsCachedAndGeneratesTheSamePixels() throws Exception {
        Path jar = tmp.resolve("bundle.jar");
        writeJar(jar, "models/jarred/", Map.of());
        BundleCacheTest.settle();
        double[] reference;
        double[] recorded;
        double[] cached;
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, previous)) {
            Thread.currentThread().setContextClassLoader(cl);
            System.setProperty(GraphCache.PROPERTY, "false");
            try (EDiff e = ModelBundle.openClasspath("models/jarred", NO_GRAPH_CACHE)) {
                reference = e.generate(REQUEST).sample(0).data();
            }
            System.clearProperty(GraphCache.PROPERTY);
            ModelBundle.openClasspath("models/jarred", NO_GRAPH_CACHE).close(); // records written, no graph cached
            FileStamp stamp = FileStamp.of(new URL("jar:" + jar.toUri() + "!/models/jarred/base/low.onnx"));
            assertTrue(DigestRecords.get(stamp).selfContained());
            BundleCache.clear();
            try (EDiff e = ModelBundle.openClasspath("models/jarred", NO_GRAPH_CACHE)) {
                recorded = e.generate(REQUEST).sample(0).data();
            }
            ModelBundle.openClasspath("models/jarred", FixtureBundle.CPU).close(); // graphs cached
            BundleCache.clear();
            try (EDiff e = ModelBundle.openClasspath("models/jarred", FixtureBundle.CPU)) {
                cached = e.generate(REQUEST).sample(0).data();
            }
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
        assertArrayEquals(reference, recorded);
        assertArrayEquals(reference, cached);
    }

    @Test
    void aJarWithAChangedModelIsRefusedDespiteTheRecordsOfTheFirst() throws Exception {
        Path jar = tmp.resolve("bundle.jar");
        writeJar(jar, "models/jarred/", Map.of());
        BundleCacheTest.settle();
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try {
            try (URLClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, previous)) {
                Thread.currentThread().setContextClassLoader(cl);
                ModelBundle.openClasspath("models/jarred", FixtureBundle.CPU).close();
            }
            byte[] mid = FixtureBundle.files().get("base/mid.onnx").clone();
            mid[mid.length / 2] ^= 1;
            // another file (the JDK caches open jars by URL, so a jar rewritten under the same name could be read stale)
            Path rebuilt = tmp.resolve("rebuilt.jar");
            writeJar(rebuilt, "models/jarred/", Map.of("base/mid.onnx", mid));
            BundleCacheTest.settle();
            BundleCache.clear();
            try (URLClassLoader cl = new URLClassLoader(new URL[] {rebuilt.toUri().toURL()}, previous)) {
                Thread.currentThread().setContextClassLoader(cl);
                BundleException e = assertThrows(BundleException.class,
                        () -> ModelBundle.openClasspath("models/jarred", FixtureBundle.CPU));
                assertTrue(e.getMessage().contains("models/jarred/base/mid.onnx is damaged or was changed"), e.getMessage());
            }
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    /** The fixture bundle (with its digests) as jar entries under {@code root}, with some files replaced. */
    static void writeJar(Path jar, String root, Map<String, byte[]> replaced) throws java.io.IOException {
        try (java.io.OutputStream out = Files.newOutputStream(jar); java.util.jar.JarOutputStream j = new java.util.jar.JarOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : FixtureBundle.files().entrySet()) {
                j.putNextEntry(new java.util.jar.JarEntry(root + e.getKey()));
                j.write(replaced.getOrDefault(e.getKey(), e.getValue()));
                j.closeEntry();
            }
            j.putNextEntry(new java.util.jar.JarEntry(root + Manifest.FILE));
            j.write(Files.readAllBytes(fixture.dir.resolve(Manifest.FILE)));
            j.closeEntry();
        }
    }
}
