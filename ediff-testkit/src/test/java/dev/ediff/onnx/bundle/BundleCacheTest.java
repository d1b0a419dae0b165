package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.core.EDiff;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.core.text.Tokenizers;
import dev.ediff.onnx.OnnxTextEncoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reopening a bundle reuses the tokenizers parsed from, and the digests computed for, files that have
 * not changed ({@link BundleCache}), and never what was read from a file that has changed since:
 * a tokenizer file rewritten between two opens (even in place, same size, modification time put back)
 * is parsed again, and a model or tokenizer changed after its digest was verified is refused naming it.
 */
class BundleCacheTest {

    /** The files' settling time in these tests (2 s by default), so that they wait less. */
    static final long RACY_MILLIS = 150;

    @TempDir
    static Path tmp;
    static FixtureBundle fixture;
    static long racyBefore;

    @BeforeAll
    static void create() {
        fixture = FixtureBundle.create(tmp.resolve("bundle"));
        racyBefore = FileStamp.racyNanos;
        FileStamp.racyNanos = TimeUnit.MILLISECONDS.toNanos(RACY_MILLIS);
    }

    @AfterAll
    static void restore() {
        FileStamp.racyNanos = racyBefore;
        BundleCache.clear();
    }

    @BeforeEach
    void reset() {
        fixture.reset();
        BundleCache.clear();
    }

    /** Flips one bit in the middle of a file, in place, and puts its modification time back: a change that only a digest sees. */
    static void flipMiddleBitKeepingModifiedTime(Path p) throws IOException {
        FileTime modified = Files.getLastModifiedTime(p);
        byte[] b = Files.readAllBytes(p);
        b[b.length / 2] ^= 1;
        Files.write(p, b);
        Files.setLastModifiedTime(p, modified);
    }

    /** Waits until the files just written have settled, so that they get a stamp and can be cached. */
    static void settle() throws InterruptedException {
        Thread.sleep(RACY_MILLIS + 50);
    }

    static Tokenizer tokenizer(EDiff e, String role) {
        return ((OnnxTextEncoder) e.textEncoders().get(role)).tokenizer();
    }

    /** The fixture's T5 tokenizer.json with the piece "▁red" renamed "▁rex": same size, and "red" now splits into letters. */
    static byte[] t5WithoutRed() {
        String json = new String(FixtureBundle.files().get("t5/tokenizer.json"), java.nio.charset.StandardCharsets.UTF_8);
        String changed = json.replace("\"\u2581red\"", "\"\u2581rex\"");
        assertNotEquals(json, changed);
        return changed.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void twoOpensOfAnUnchangedBundleShareTheParsedTokenizers() throws Exception {
        settle();
        Tokenizer t5;
        Tokenizer clip;
        try (EDiff first = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            t5 = tokenizer(first, "t5");
            clip = tokenizer(first, "clip");
        }
        try (EDiff second = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertSame(t5, tokenizer(second, "t5"));
            assertSame(clip, tokenizer(second, "clip"));
        }
        BundleCache.clear();
        try (EDiff third = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertNotSame(clip, tokenizer(third, "clip"), "parsed again once the cache is cleared");
            assertArrayEquals(clip.encode("a red cat").ids(), tokenizer(third, "clip").encode("a red cat").ids());
        }
    }

    @Test
    void aTokenizerFileJustWrittenIsNotCachedUntilItSettles() throws Exception {
        FileStamp.racyNanos = TimeUnit.HOURS.toNanos(1); // every file is "just written"
        try {
            Tokenizer t5;
            try (EDiff first = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
                t5 = tokenizer(first, "t5");
            }
            try (EDiff second = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
                assertNotSame(t5, tokenizer(second, "t5"));
            }
            assertNull(FileStamp.of(fixture.dir.resolve("t5/tokenizer.json")));
        } finally {
            FileStamp.racyNanos = TimeUnit.MILLISECONDS.toNanos(RACY_MILLIS);
        }
    }

    @Test
    void aTokenizerFileChangedBetweenTwoOpensIsReadAgain() throws Exception {
        byte[] changed = t5WithoutRed();
        int[] expected = Tokenizers.load(changed, "reference").encode("a red cat").ids();
        Path file = fixture.dir.resolve("t5/tokenizer.json");
        // rewritten in place: same file, same size, and its modification time put back; only its ctime tells
        settle();
        int[] before;
        try (EDiff first = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            before = tokenizer(first, "t5").encode("a red cat").ids();
        }
        assertFalse(java.util.Arrays.equals(before, expected), "the change must show in the ids");
        FileTime modified = Files.getLastModifiedTime(file);
        Object inode = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        Files.write(file, changed);
        Files.setLastModifiedTime(file, modified);
        assertEquals(inode, Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
        try (EDiff justChanged = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertArrayEquals(expected, tokenizer(justChanged, "t5").encode("a red cat").ids());
        }
        settle();
        try (EDiff settled = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertArrayEquals(expected, tokenizer(settled, "t5").encode("a red cat").ids());
        }
        // replaced by another file, and back
        fixture.write("t5/tokenizer.json", FixtureBundle.files().get("t5/tokenizer.json"));
        settle();
        try (EDiff restored = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertArrayEquals(before, tokenizer(restored, "t5").encode("a red cat").ids());
        }
    }

    @Test
    void aFileChangedAfterItsDigestWasVerifiedIsRefusedNamingIt() throws Exception {
        ObjectNode digests = FixtureBundle.JSON.createObjectNode();
        for (Map.Entry<String, byte[]> e : FixtureBundle.files().entrySet()) {
            digests.put(e.getKey(), BundleIntegrityTest.sha256(e.getValue()));
        }
        fixture.edit(m -> m.set("sha256", digests));
        settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        Path model = fixture.dir.resolve("base/mid.onnx");
        assertEquals(BundleIntegrityTest.sha256(Files.readAllBytes(model)), BundleCache.digest(FileStamp.of(model)),
                "the verified digest is remembered for the unchanged file");
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        for (String file : new String[] {"base/mid.onnx", "clip/tokenizer.json"}) {
            Path p = fixture.dir.resolve(file);
            flipMiddleBitKeepingModifiedTime(p);
            for (int attempt = 0; attempt < 2; attempt++) { // just changed, then settled
                BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
                assertTrue(e.getMessage().contains(fixture.dir + "/" + file + " is damaged or was changed"), e.getMessage());
                assertTrue(e.getMessage().contains("sha256[\"" + file + "\"]"), e.getMessage());
                settle();
            }
            flipMiddleBitKeepingModifiedTime(p); // back to the original bytes
            settle();
            ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        }
    }

    @Test
    void aBundleInAJarSharesItsTokenizersAndTellsChangedEntriesApart() throws Exception {
        Path jar = tmp.resolve("bundle.jar");
        writeJar(jar, "models/jarred/", Map.of());
        Path other = tmp.resolve("other.jar");
        writeJar(other, "models/jarred/", Map.of("t5/tokenizer.json", t5WithoutRed()));
        settle();
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, previous)) {
            Thread.currentThread().setContextClassLoader(cl);
            Tokenizer clip;
            try (EDiff first = ModelBundle.openClasspath("models/jarred", FixtureBundle.CPU)) {
                clip = tokenizer(first, "clip");
            }
            try (EDiff second = ModelBundle.openClasspath("models/jarred", FixtureBundle.CPU)) {
                assertSame(clip, tokenizer(second, "clip"));
            }
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
        FileStamp a = FileStamp.of(new URL("jar:" + jar.toUri() + "!/models/jarred/t5/tokenizer.json"));
        FileStamp b = FileStamp.of(new URL("jar:" + other.toUri() + "!/models/jarred/t5/tokenizer.json"));
        assertNotNull(a);
        assertNotNull(b);
        assertEquals(a.entrySize(), b.entrySize());
        assertNotEquals(a.crc(), b.crc(), "the entries' CRC-32 differ");
    }

    /** The fixture bundle as jar entries under {@code root}, with some files replaced. */
    static void writeJar(Path jar, String root, Map<String, byte[]> replaced) throws IOException {
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : FixtureBundle.files().entrySet()) {
                j.putNextEntry(new JarEntry(root + e.getKey()));
                j.write(replaced.getOrDefault(e.getKey(), e.getValue()));
                j.closeEntry();
            }
            j.putNextEntry(new JarEntry(root + Manifest.FILE));
            j.write(Files.readAllBytes(fixture.dir.resolve(Manifest.FILE)));
            j.closeEntry();
        }
    }
}
