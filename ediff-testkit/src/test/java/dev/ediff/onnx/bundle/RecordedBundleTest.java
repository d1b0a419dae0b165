package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.onnx.internal.GraphCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The set-up the tests of what a verified bundle leaves in the cache folder share: the fixture
 * bundle with a {@code sha256} for every file, a graph folder (and so digest-record and
 * compact-tokenizer folders) of each test's own, a short racy window for file stamps, and the
 * in-process caches cleared around each test.
 */
abstract class RecordedBundleTest {

    static final String BUILD_DIR = System.getProperty(GraphCache.DIR_PROPERTY);

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    static FixtureBundle fixture;
    private static long racyBefore;

    @BeforeAll
    static void create() {
        fixture = FixtureBundle.create(shared.resolve("bundle"));
        racyBefore = FileStamp.racyNanos;
        FileStamp.racyNanos = TimeUnit.MILLISECONDS.toNanos(BundleCacheTest.RACY_MILLIS);
    }

    @AfterAll
    static void restoreRacy() {
        FileStamp.racyNanos = racyBefore;
        BundleCache.clear();
    }

    @BeforeEach
    void useOwnFolders() throws Exception {
        fixture.reset();
        ObjectNode digests = FixtureBundle.JSON.createObjectNode();
        for (Map.Entry<String, byte[]> e : FixtureBundle.files().entrySet()) {
            digests.put(e.getKey(), BundleIntegrityTest.sha256(e.getValue()));
        }
        fixture.edit(m -> m.set("sha256", digests));
        System.setProperty(GraphCache.DIR_PROPERTY, tmp.resolve("graphs").toString());
        BundleCache.clear();
    }

    @AfterEach
    void restore() {
        GraphCacheTest.restoreProperties(BUILD_DIR);
        BundleCache.clear();
    }
}
