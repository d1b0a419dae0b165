package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The manifest's optional sha256 digests: a bundle whose files match opens; one flipped bit in a
 * model or a tokenizer is refused with the file named; bad digest entries are refused when the manifest
 * is read. {@link ModelBundle#check} (info --check) also verifies files the pipeline does not open and
 * generates one image, so graphs whose resolution or fixed batch do not fit the manifest fail it.
 */
class BundleIntegrityTest {

    @TempDir
    static Path tmp;
    static FixtureBundle fixture;

    @BeforeAll
    static void create() {
        fixture = FixtureBundle.create(tmp.resolve("bundle"));
    }

    @BeforeEach
    void reset() {
        fixture.reset();
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** Writes a digest for every file of the fixture, computed from the bytes it wrote. */
    static void addDigests() throws Exception {
        ObjectNode digests = FixtureBundle.JSON.createObjectNode();
        for (Map.Entry<String, byte[]> e : FixtureBundle.files().entrySet()) {
            digests.put(e.getKey(), sha256(e.getValue()));
        }
        fixture.edit(m -> m.set("sha256", digests));
    }

    static void flipBit(String file, long seed) throws IOException {
        Path p = fixture.dir.resolve(file);
        byte[] b = Files.readAllBytes(p);
        Random r = new Random(seed);
        int i = r.nextInt(b.length);
        b[i] ^= (byte) (1 << r.nextInt(8));
        Files.write(p, b);
    }

    @Test
    void aBundleWhoseFilesMatchTheirDigestsOpens() throws Exception {
        addDigests();
        try (EDiff e = ModelBundle.open(fixture.dir, FixtureBundle.CPU)) {
            assertEquals(2, e.stages().size());
        }
        assertEquals(FixtureBundle.files().size(), ModelBundle.manifest(fixture.dir).sha256().size());
    }

    @Test
    void oneFlippedBitInAModelOrATokenizerIsRefusedNamingTheFile() throws Exception {
        addDigests();
        for (String file : new String[] {"base/mid.onnx", "sr/high.onnx", "t5/encoder.onnx", "clip/tokenizer.json"}) {
            for (long seed = 0; seed < 3; seed++) {
                fixture.reset();
                addDigests();
                flipBit(file, seed);
                BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
                assertTrue(e.getMessage().contains(fixture.dir + "/" + file + " is damaged or was changed"), e.getMessage());
                assertTrue(e.getMessage().contains("sha256[\"" + file + "\"]"), e.getMessage());
                assertTrue(!e.getMessage().contains("\n"), "one line");
            }
        }
    }

    @Test
    void badDigestEntriesAreRefusedWhenTheManifestIsRead() {
        String[][] cases = {
                {"base/mid.onnx", "abc", "must be a SHA-256 digest, 64 lowercase hex digits"},
                {"base/mid.onnx", "A".repeat(64), "must be a SHA-256 digest"},
                {"../outside.onnx", "0".repeat(64), "sha256[\"../outside.onnx\"]"},
                {"manifest.json", "0".repeat(64), "cannot hold its own digest"},
        };
        for (String[] c : cases) {
            fixture.reset();
            fixture.edit(m -> m.set("sha256", FixtureBundle.JSON.createObjectNode().put(c[0], c[1])));
            BundleException e = assertThrows(BundleException.class, () -> ModelBundle.manifest(fixture.dir));
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
    }

    @Test
    void checkVerifiesFilesTheModelsDoNotOpenToo() throws Exception {
        addDigests();
        fixture.write("notes/readme.txt", "hello".getBytes());
        fixture.edit(m -> ((ObjectNode) m.get("sha256")).put("notes/readme.txt", "0".repeat(64)));
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close(); // the pipeline does not read it
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.check(fixture.dir));
        assertTrue(e.getMessage().contains("notes/readme.txt is damaged or was changed"), e.getMessage());
        fixture.edit(m -> {
            try {
                ((ObjectNode) m.get("sha256")).put("notes/readme.txt", sha256("hello".getBytes()));
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        });
        String summary = ModelBundle.check(fixture.dir);
        assertTrue(summary.contains((FixtureBundle.files().size() + 1) + " file(s) matched"), summary);
    }

    @Test
    void checkGeneratesSoAResolutionTheGraphsDoNotHaveFailsIt() {
        assertTrue(ModelBundle.check(fixture.dir).contains("2 stage(s)"));
        fixture.edit(m -> ((ObjectNode) m.get("stages").get(0)).set("resolution",
                FixtureBundle.JSON.createArrayNode().add(16).add(16)));
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close(); // opening alone does not see it
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.check(fixture.dir));
        assertTrue(e.getMessage().contains("generating one image with the stages' defaults fails"), e.getMessage());
        assertTrue(e.getMessage().contains("[1, 3, 8, 8]") || e.getMessage().contains("3, 8, 8]"), e.getMessage());
    }

    @Test
    void checkGeneratesSoAFixedBatchTheGenerationCannotUseFailsIt() {
        fixture.write("base/mid.onnx", FixtureBundle.Expert.base(12, 0.8f).fixedBatch(3).build());
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.check(fixture.dir));
        assertTrue(e.getMessage().contains("generating one image with the stages' defaults fails"), e.getMessage());
        assertTrue(e.getMessage().contains("[3, 3, 8, 8]"), e.getMessage());
    }

    @Test
    void theStyleEncoderIsVerifiedAtOpenThoughItsSessionOpensLater() throws Exception {
        addDigests();
        flipBit("clip/image.onnx", 7);
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.open(fixture.dir, FixtureBundle.CPU));
        assertTrue(e.getMessage().contains(fixture.dir + "/clip/image.onnx is damaged or was changed"), e.getMessage());
    }

    @Test
    void checkOpensTheStyleEncoderThatAGenerationWithoutStyleNeverOpens() {
        fixture.edit(m -> ((ObjectNode) m.get("image_encoder")).put("output", "no_such_output"));
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close(); // opened on the first style image only
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.check(fixture.dir));
        assertTrue(e.getMessage().contains("no_such_output"), e.getMessage());
        assertTrue(e.getMessage().contains("image_encoder"), e.getMessage());
    }
}
