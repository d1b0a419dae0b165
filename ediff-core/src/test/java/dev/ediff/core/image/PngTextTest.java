package dev.ediff.core.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The parameters in a PNG survive any prompt: every text of the tokenizer case files (tabs,
 * newlines, accents, CJK, emoji), the prompt of issue 13, and hand-made hostile strings (NUL, C0, DEL and
 * C1 controls, zero-width and bidi format characters, unpaired surrogates, backslash sequences) are
 * written and read back unchanged. The chunks are checked in the raw file with a separate chunk
 * parser: iTXt only, valid UTF-8, no control byte in the text. Files with tEXt chunks still read.
 */
class PngTextTest {

    @TempDir
    Path tmp;

    static final BufferedImage IMAGE = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);

    static List<String> prompts() throws IOException {
        Set<String> texts = new LinkedHashSet<>();
        List<Path> files = new ArrayList<>(List.of(
                Path.of("../tools/mini/export/clip/tokenizer_cases.json"),
                Path.of("../tools/mini/export/t5/tokenizer_cases.json"),
                Path.of("src/test/resources/conformance/clip_tokenizer_cases.json"),
                Path.of("src/test/resources/text/t5_mini_cases.json")));
        String shared = System.getProperty("ediff.shared.dir");
        if (shared != null && Files.exists(Path.of(shared, "conformance", "clip_tokenizer_cases.json"))) {
            files.add(Path.of(shared, "conformance", "clip_tokenizer_cases.json"));
        }
        ObjectMapper json = new ObjectMapper();
        for (Path f : files) {
            assertTrue(Files.exists(f), f + " exists");
            for (JsonNode c : json.readTree(f.toFile())) {
                texts.add(c.get("text").asText());
            }
        }
        assertTrue(texts.stream().anyMatch(t -> t.contains("\t") && t.contains("\n")), "the case files hold tabs and newlines");
        assertTrue(texts.stream().anyMatch(t -> t.codePoints().anyMatch(cp -> cp > 0xffff)), "and emoji");
        texts.add("🔴 赤い丸");
        texts.add("nul\u0000inside");
        texts.add("c0 \u0001\u0007\u001b[31m escape \u001f, del \u007f, c1 \u0080\u0085\u009f");
        texts.add("zero\u200bwidth \u200d joiner \u202eoverride\u202c \ufeffbom \u00a0nbsp \u2028line");
        texts.add("lone high \ud83d, lone low \ude00, reversed \ude00\ud83d, at the end \ud83d");
        texts.add("back\\slash, literal \\u0041 and \\\\u0041, trailing \\");
        texts.add("\r\n windows line\r");
        texts.add("");
        return new ArrayList<>(texts);
    }

    @Test
    void everyPromptRoundTripsThroughAnITxtChunk() throws IOException {
        List<String> prompts = prompts();
        for (int i = 0; i < prompts.size(); i++) {
            String prompt = prompts.get(i);
            Path file = tmp.resolve("p" + i + ".png");
            Map<String, String> text = new LinkedHashMap<>();
            text.put("prompt", prompt);
            text.put("seed", "42");
            PngFiles.write(file, IMAGE, text, false);
            assertEquals(text, PngFiles.readText(file), "round trip of " + visible(prompt));

            List<Chunk> chunks = chunks(file);
            assertTrue(chunks.stream().noneMatch(c -> c.type.equals("tEXt") || c.type.equals("zTXt")), "only iTXt");
            List<Chunk> itxt = chunks.stream().filter(c -> c.type.equals("iTXt")).toList();
            assertEquals(2, itxt.size());
            byte[] d = itxt.get(0).data;
            int nul = indexOf(d, 0, (byte) 0);
            assertEquals("prompt", new String(d, 0, nul, StandardCharsets.ISO_8859_1));
            assertEquals(0, d[nul + 1], "compression flag: uncompressed");
            int lang = indexOf(d, nul + 3, (byte) 0);
            int translated = indexOf(d, lang + 1, (byte) 0);
            byte[] value = java.util.Arrays.copyOfRange(d, translated + 1, d.length);
            String decoded = strictUtf8(value);
            for (byte b : value) {
                assertFalse(b >= 0 && b < 0x20 || b == 0x7f, "no control byte in the stored text of " + visible(prompt));
            }
            assertTrue(decoded.codePoints().noneMatch(cp -> Character.getType(cp) == Character.CONTROL),
                    "no control character in " + visible(decoded));
            if (!prompt.contains("\\") && prompt.codePoints().noneMatch(cp -> Character.getType(cp) == Character.CONTROL
                    || Character.getType(cp) == Character.SURROGATE)) {
                assertEquals(prompt, decoded, "text without anything to escape is stored as plain UTF-8");
            }
        }
    }

    @Test
    void theIssuePromptIsStoredAsUtf8() throws IOException {
        Path file = tmp.resolve("red.png");
        PngFiles.write(file, IMAGE, Map.of("prompt", "🔴 赤い丸"), false);
        byte[] raw = Files.readAllBytes(file);
        byte[] utf8 = "🔴 赤い丸".getBytes(StandardCharsets.UTF_8);
        assertTrue(indexOf(raw, utf8) >= 0, "the UTF-8 bytes of the prompt are in the file");
        assertEquals("🔴 赤い丸", PngFiles.readText(file).get("prompt"));
    }

    @Test
    void filesWithTExtChunksStillReadAsTheyAre() throws IOException {
        Path file = tmp.resolve("old.png");
        Map<String, String> old = new LinkedHashMap<>();
        old.put("prompt", "caf\u00e9 with a literal \\u0041 and \\\\");
        old.put("seed", "7");
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(file.toFile())) {
            writer.setOutput(out);
            IIOMetadata meta = writer.getDefaultImageMetadata(new ImageTypeSpecifier(IMAGE), null);
            IIOMetadataNode root = new IIOMetadataNode("javax_imageio_png_1.0");
            IIOMetadataNode chunks = new IIOMetadataNode("tEXt");
            old.forEach((k, v) -> {
                IIOMetadataNode e = new IIOMetadataNode("tEXtEntry");
                e.setAttribute("keyword", k);
                e.setAttribute("value", v);
                chunks.appendChild(e);
            });
            root.appendChild(chunks);
            meta.mergeTree("javax_imageio_png_1.0", root);
            writer.write(new IIOImage(IMAGE, null, meta));
        } finally {
            writer.dispose();
        }
        assertTrue(chunks(file).stream().anyMatch(c -> c.type.equals("tEXt")));
        assertEquals(old, PngFiles.readText(file));
    }

    @Test
    void escapingIsReversibleForEveryCharacter() {
        StringBuilder all = new StringBuilder();
        for (int c = 0; c <= 0xffff; c++) {
            all.append((char) c);
        }
        String s = all.toString();
        assertEquals(s, PngFiles.unescape(PngFiles.escape(s)));
        assertTrue(PngFiles.escape(s).codePoints().noneMatch(cp -> Character.getType(cp) == Character.CONTROL
                || Character.getType(cp) == Character.SURROGATE), "nothing unencodable or control is left");
    }

    // ------------------------------------------------------------------ a PNG chunk reader of its own

    record Chunk(String type, byte[] data) {
    }

    static List<Chunk> chunks(Path file) throws IOException {
        List<Chunk> list = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file); DataInputStream d = new DataInputStream(in)) {
            d.readFully(new byte[8]);
            while (true) {
                int length = d.readInt();
                byte[] type = new byte[4];
                d.readFully(type);
                byte[] data = new byte[length];
                d.readFully(data);
                d.readInt(); // CRC
                String t = new String(type, StandardCharsets.ISO_8859_1);
                list.add(new Chunk(t, data));
                if (t.equals("IEND")) {
                    return list;
                }
            }
        }
    }

    static int indexOf(byte[] a, int from, byte b) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        throw new AssertionError("no byte " + b + " after " + from);
    }

    static int indexOf(byte[] a, byte[] sub) {
        outer:
        for (int i = 0; i + sub.length <= a.length; i++) {
            for (int j = 0; j < sub.length; j++) {
                if (a[i + j] != sub[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static String strictUtf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new AssertionError("not valid UTF-8", e);
        }
    }

    static String visible(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.chars().forEach(c -> b.append(c < 0x20 || c >= 0x7f ? String.format("\\x{%x}", c) : String.valueOf((char) c)));
        return b.append('"').toString();
    }
}
