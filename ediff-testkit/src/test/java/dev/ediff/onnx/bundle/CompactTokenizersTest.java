package dev.ediff.onnx.bundle;

import dev.ediff.core.text.CompactBpe;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.core.text.Tokenizers;
import dev.ediff.onnx.internal.GraphCache;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compact tokenizers kept between processes ({@link CompactTokenizers}): opening a bundle leaves
 * the compact form of its BPE tokenizer (only that one) named by the tokenizer file's SHA-256
 * (computed here independently); a later open with the digest known from its record takes the
 * tokenizer from it and gives the same ids as parsing the file; a compact file that is truncated,
 * damaged or made from other content is not used, the file is parsed and the compact file written
 * again; a recorded digest that does not match the manifest is refused before any compact file is
 * looked at; nothing is written with the caches off.
 */
class CompactTokenizersTest extends RecordedBundleTest {

    private static final String CLIP = "clip/tokenizer.json";

    private static List<String> prompts() {
        List<String> words = new ArrayList<>(FixtureBundle.T5_WORDS);
        words.addAll(List.of("Cat!", "don't", "&amp;", "4k", "ÜBER", "日本", "<|endoftext|>", "", ",", "..."));
        Random r = new Random(5);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            StringBuilder sb = new StringBuilder();
            for (int k = 1 + r.nextInt(10); k > 0; k--) {
                sb.append(words.get(r.nextInt(words.size()))).append(r.nextBoolean() ? " " : "");
            }
            out.add(sb.toString());
        }
        return out;
    }

    private static void assertSameIds(Tokenizer expected, Tokenizer actual) {
        for (String p : prompts()) {
            assertArrayEquals(expected.encodeToContext(p).ids(), actual.encodeToContext(p).ids(), p);
        }
    }

    private Tokenizer openClip() {
        return ModelBundle.tokenizer(fixture.dir, ModelBundle.manifest(fixture.dir), CLIP);
    }

    private Path compactFile() throws Exception {
        return tmp.resolve("graphs.tokenizers")
                .resolve(BundleIntegrityTest.sha256(Files.readAllBytes(fixture.dir.resolve(CLIP))) + CompactBpe.EXTENSION);
    }

    @Test
    void aLaterOpenTakesTheClipTokenizerFromItsCompactFormWithTheSameIds() throws Exception {
        BundleCacheTest.settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        Path file = compactFile();
        assertEquals(file, CompactTokenizers.file(file.getFileName().toString().replace(CompactBpe.EXTENSION, "")));
        try (Stream<Path> files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList(), "only the BPE tokenizer has a compact form");
        }
        BundleCache.clear(); // a fresh process: the records and compact files remain
        long hits = CompactTokenizers.counts()[0];
        Tokenizer compact = openClip();
        assertEquals(hits + 1, CompactTokenizers.counts()[0]);
        assertSameIds(Tokenizers.load(fixture.dir.resolve(CLIP)), compact);
    }

    @Test
    void aDamagedOrForeignCompactFileIsNotUsedAndIsWrittenAgain() throws Exception {
        BundleCacheTest.settle();
        Tokenizer parsed = openClip();
        Path file = compactFile();
        byte[] good = Files.readAllBytes(file);
        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 1;
        byte[] foreign = good.clone(); // a valid file, but made from other content
        ByteBuffer.wrap(foreign).put(12, HexFormat.of().parseHex(BundleIntegrityTest.sha256("other".getBytes(
                StandardCharsets.UTF_8))));
        CRC32 crc = new CRC32();
        crc.update(foreign, 0, foreign.length - 4);
        ByteBuffer.wrap(foreign).order(ByteOrder.LITTLE_ENDIAN).putInt(foreign.length - 4, (int) crc.getValue());
        for (byte[] bad : new byte[][] {Arrays.copyOf(good, good.length / 2), flipped, foreign, new byte[0]}) {
            Files.write(file, bad);
            BundleCache.clear();
            long[] before = CompactTokenizers.counts();
            Tokenizer reopened = openClip();
            long[] after = CompactTokenizers.counts();
            assertEquals(before[0], after[0], "the bad file was used");
            assertEquals(before[1] + 1, after[1], "the file was not written again");
            assertArrayEquals(good, Files.readAllBytes(file));
            assertSameIds(parsed, reopened);
        }
    }

    @Test
    void aRecordedDigestOtherThanTheManifestsIsRefusedWhateverCompactFileItNames() throws Exception {
        BundleCacheTest.settle();
        openClip();
        Path p = fixture.dir.resolve(CLIP);
        String other = BundleIntegrityTest.sha256("another tokenizer".getBytes(StandardCharsets.UTF_8));
        FileStamp stamp = FileStamp.of(p);
        DigestRecords.put(stamp, stamp, other, false);
        Files.copy(compactFile(), CompactTokenizers.file(other));
        BundleCache.clear();
        BundleException e = assertThrows(BundleException.class, this::openClip);
        assertTrue(e.getMessage().contains(fixture.dir + "/" + CLIP + " is damaged or was changed"), e.getMessage());
    }

    @Test
    void nothingIsWrittenWithTheCachesOff() throws Exception {
        System.setProperty(GraphCache.PROPERTY, "false");
        BundleCacheTest.settle();
        ModelBundle.open(fixture.dir, FixtureBundle.CPU).close();
        assertFalse(Files.exists(tmp.resolve("graphs.tokenizers")));
    }
}
