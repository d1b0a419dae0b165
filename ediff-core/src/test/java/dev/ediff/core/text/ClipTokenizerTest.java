package dev.ediff.core.text;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CLIP tokenizer behaviour beyond the reference ids: offsets, padding, truncation, spans, decoding. */
class ClipTokenizerTest {

    private final ClipTokenizer clip = ClipTokenizer.standard();

    @Test
    void offsetsPointIntoTheOriginalText() {
        String text = "  A Photo &amp; CAFÉ\t\tdog!! 🐱 東京";
        Encoding e = clip.encode(text);
        assertEquals(-1, e.start(0));
        assertEquals(-1, e.end(e.length() - 1));
        assertEquals("A", covered(e, text, "a</w>"));
        assertEquals("Photo", covered(e, text, "photo</w>"));
        assertEquals("&amp;", covered(e, text, "&</w>"), "an entity token covers the whole entity");
        assertEquals("CAFÉ", covered(e, text, "cafÃ©</w>"));
        assertEquals("dog", covered(e, text, "dog</w>"));
        assertEquals("!!", covered(e, text, "!!</w>"));
        assertEquals("🐱", covered(e, text, "ðŁĲ±</w>"), "a token covers whole surrogate pairs");
        // 東京 splits inside the UTF-8 bytes of 京: both tokens cover that character
        assertEquals("東", covered(e, text, "æĿ±"));
        assertEquals("京", covered(e, text, "äº"));
        assertEquals("京", covered(e, text, "¬</w>"));
    }

    /**
     * A lone surrogate (which no UTF-8 text holds, but a Java string can) is tokenized as the byte
     * {@code '?'} that {@code String.getBytes(UTF_8)} makes of it, with offsets inside the text;
     * it used to throw ArrayIndexOutOfBoundsException.
     */
    @Test
    void aLoneSurrogateIsTokenizedAsAQuestionMark() {
        for (String lone : new String[] {"\uD83D", "\uDC31"}) {
            for (String[] around : new String[][] {{"cat ", " dog"}, {"caf\u00E9", "x"}, {"", ""}, {"", "\uD83D\uDC31\u00E9"}}) {
                String text = around[0] + lone + around[1];
                Encoding e = clip.encode(text);
                Encoding q = clip.encode(around[0] + "?" + around[1]);
                assertArrayEquals(q.ids(), e.ids(), text);
                for (int i = 0; i < e.length(); i++) {
                    assertTrue(e.start(i) <= e.end(i) && e.end(i) <= text.length(), text + " token " + i);
                }
            }
        }
    }

    private static String covered(Encoding e, String text, String token) {
        int i = indexOfToken(e, token);
        return text.substring(e.start(i), e.end(i));
    }

    private static int indexOfToken(Encoding e, String token) {
        for (int i = 0; i < e.size(); i++) {
            if (e.token(i).equals(token)) {
                return i;
            }
        }
        throw new AssertionError(token + " not in " + e);
    }

    @Test
    void padsWithTheConfiguredId() {
        Encoding e = clip.encodeToContext("a horse");
        assertEquals(77, e.size());
        assertEquals(4, e.length());
        assertArrayEquals(new int[] {49406, 320, 4558, 49407}, java.util.Arrays.copyOf(e.ids(), 4));
        for (int i = 4; i < 77; i++) {
            assertEquals(49407, e.id(i));
        }
        Encoding zero = clip.withPadId(0).encodeToContext("a horse");
        assertEquals(0, zero.id(76));
        assertEquals(49407, zero.id(3));
        assertEquals(4, java.util.Arrays.stream(zero.attentionMask()).sum());
    }

    @Test
    void truncationKeepsStartAndEndAndReportsDroppedWords() {
        Encoding e = clip.encode("a photograph of an astronaut riding a horse", 6);
        assertArrayEquals(new int[] {49406, 320, 8853, 539, 550, 49407}, e.ids());
        assertTrue(e.truncated());
        assertEquals(List.of("astronaut", "riding", "a", "horse"), e.droppedWords());
        assertEquals("astronaut riding a horse", e.droppedText());
        assertFalse(clip.encode("a horse", 6).truncated());
        assertThrows(IllegalArgumentException.class, () -> clip.encode("a", 1));
        // a word cut in the middle counts as dropped
        Encoding cut = clip.encode("東京タワー", 3);
        assertEquals(List.of("東京タワー"), cut.droppedWords());
    }

    @Test
    void findsSpansCaseInsensitivelyAndOnWholeWords() {
        assertEquals(new TokenSpan(7, 9), clip.findSpan("a photograph of an astronaut riding a horse", "A HORSE").orElseThrow());
        assertEquals(new TokenSpan(1, 2), clip.findSpan("Cat, cat and dog", "cat").orElseThrow());
        assertTrue(clip.findSpan("a hotdog stand", "dog").isEmpty());
        assertTrue(clip.findSpan("a cat", "").isEmpty());
        assertTrue(clip.findSpan("a cat", "horse").isEmpty());
        Encoding truncated = clip.encode("a photograph of an astronaut riding a horse", 6);
        assertTrue(clip.findSpan(truncated, "horse").isEmpty(), "a phrase cut off by truncation is not found");
        assertTrue(clip.findSpan(truncated, "photograph").isPresent());
    }

    @Test
    void aTwoThousandWordPromptIsTruncatedQuicklyWithEveryLaterWordReported() {
        String prompt = String.join(" ", java.util.Collections.nCopies(2000, "horse"));
        long t0 = System.nanoTime();
        Encoding e = clip.encodeToContext(prompt);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L);
        assertEquals(77, e.length());
        assertEquals(49407, e.id(76));
        assertEquals(2000 - 75, e.droppedWords().size());
    }

    @Test
    void encodesConcurrently() throws Exception {
        List<String> prompts = List.of("a photograph of an astronaut riding a horse", "東京タワーの夜景", "Hello, world!");
        List<int[]> expected = prompts.stream().map(p -> clip.encode(p).ids()).toList();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
            for (int k = 0; k < 200; k++) {
                int i = k % prompts.size();
                // all threads share the standard tokenizer and its word cache
                results.add(pool.submit(() -> java.util.Arrays.equals(expected.get(i), clip.encode(prompts.get(i)).ids())));
            }
            for (java.util.concurrent.Future<Boolean> r : results) {
                assertTrue(r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void decodesToTheNormalizedText() {
        String text = "A Photo of Zürich, 2024!  東京 🐱";
        assertEquals("a photo of zürich , 2 0 2 4 ! 東京 🐱", clip.decode(clip.encodeToContext(text).ids()));
    }
}
