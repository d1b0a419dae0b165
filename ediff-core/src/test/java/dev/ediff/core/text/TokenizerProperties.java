package dev.ediff.core.text;

import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

/** Properties of both tokenizers: phrase spans, truncation, padding. */
class TokenizerProperties {

    static final ClipTokenizer CLIP = ClipTokenizer.standard();
    static final Tokenizer T5 = Tokenizers.load(UnigramTokenizerTest.resource("t5_mini_tokenizer.json"));

    /** Words of the T5 fixture's training captions, so that both vocabularies know their letters. */
    static final List<String> WORDS = List.of("a", "photograph", "of", "an", "astronaut", "riding", "horse", "cute",
            "cat", "sitting", "on", "windowsill", "digital", "art", "portrait", "woman", "oil", "painting", "highly",
            "detailed", "red", "fox", "snow", "sunset", "castle", "hill", "fog", "bee", "sunflower", "river", "village",
            "neon", "city", "lights", "the", "and", "in", "with", "dogs", "park", "astronauts", "cats", "4k");

    /** A prompt made of words and separators, and a whole-word range [from, to) of it. */
    record Prompt(List<String> words, List<String> separators, int from, int to) {

        String text() {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < words.size(); i++) {
                sb.append(words.get(i)).append(i + 1 < words.size() ? separators.get(i) : "");
            }
            return sb.toString();
        }

        /** The prompt's characters from the start of word {@code from} to the end of word {@code to - 1}. */
        String phrase() {
            StringBuilder sb = new StringBuilder();
            for (int i = from; i < to; i++) {
                sb.append(words.get(i)).append(i + 1 < to ? separators.get(i) : "");
            }
            return sb.toString();
        }
    }

    private static Gen<Prompt> prompts(Gen<String> words, Gen<String> separators, int maxWords) {
        return integers().between(1, maxWords).flatMap(n -> lists().of(words).ofSize(n).zip(
                lists().of(separators).ofSize(n), integers().between(0, n - 1), integers().between(1, n),
                (w, s, from, len) -> new Prompt(w, s, from, Math.min(n, from + len))));
    }

    static Gen<Prompt> clipPrompts() {
        // random capitals: CLIP lower-cases, so a phrase must be found whatever its case in the prompt
        Gen<String> words = arbitrary().pick(WORDS).flatMap(w -> arbitrary().pick(w, w.toUpperCase(), capitalize(w)));
        return prompts(words, arbitrary().pick(" ", "  ", ", ", "\t", " - ", "; "), 30);
    }

    static Gen<Prompt> t5Prompts() {
        return prompts(arbitrary().pick(WORDS), arbitrary().pick(" ", "  ", ", ", "\t"), 30);
    }

    static Gen<Prompt> plainPrompts() {
        return prompts(arbitrary().pick(WORDS), arbitrary().constant(" "), 60);
    }

    private static String capitalize(String w) {
        return Character.toUpperCase(w.charAt(0)) + w.substring(1);
    }

    @Test
    void clipFindsEveryWholeWordPhrase() {
        qt().withExamples(300).forAll(clipPrompts()).checkAssert(p -> checkSpan(CLIP, p));
    }

    @Test
    void t5FindsEveryWholeWordPhrase() {
        qt().withExamples(300).forAll(t5Prompts()).checkAssert(p -> checkSpan(T5, p));
    }

    private static void checkSpan(Tokenizer t, Prompt p) {
        String prompt = p.text();
        String phrase = p.phrase();
        Encoding e = t.encode(prompt);
        Optional<TokenSpan> found = t.findSpan(prompt, phrase.toLowerCase());
        assertTrue(found.isPresent(), () -> "'" + phrase + "' not found in '" + prompt + "'");
        TokenSpan span = found.get();
        int[] spanIds = Arrays.copyOfRange(e.ids(), span.start(), span.end());
        String normalized = t.normalize(phrase.toLowerCase());
        // CLIP decodes punctuation as its own word ("cat , dog"), so compare without spaces
        assertEquals(normalized.replace(" ", ""), t.decode(spanIds).replace(" ", ""), prompt + " / " + phrase);
        // and digits one by one ("4 k"); a phrase of letters and single spaces decodes exactly
        if (phrase.chars().allMatch(c -> Character.isLetter(c) || c == ' ') && !phrase.contains("  ")) {
            assertEquals(normalized, t.decode(spanIds));
        }
        String covered = prompt.substring(e.start(span.start()), e.end(span.end() - 1));
        assertEquals(normalized.replace(" ", ""), t.normalize(covered.toLowerCase()).replace(" ", ""));
        assertTrue(span.end() <= e.length() - 1, "the end token is not part of a span");
    }

    @Test
    void clipTruncationKeepsStartAndEndAndReportsDroppedWords() {
        qt().withExamples(200).forAll(plainPrompts(), integers().between(2, 80))
                .checkAssert((p, maxLength) -> checkTruncation(CLIP, p.text(), maxLength));
    }

    @Test
    void t5TruncationKeepsEndAndReportsDroppedWords() {
        qt().withExamples(200).forAll(plainPrompts(), integers().between(1, 80))
                .checkAssert((p, maxLength) -> checkTruncation(T5, p.text(), maxLength));
    }

    private static void checkTruncation(Tokenizer t, String prompt, int maxLength) {
        SpecialIds s = t.specialIds();
        Encoding full = t.encode(prompt);
        Encoding e = t.encode(prompt, maxLength);
        assertEquals(maxLength, e.size());
        if (s.bos() != SpecialIds.NONE) {
            assertEquals(s.bos(), e.id(0));
        }
        assertEquals(s.eos(), e.id(e.length() - 1), "the end token survives truncation");
        boolean tooLong = full.size() > maxLength;
        assertEquals(tooLong, e.truncated());
        List<String> words = Arrays.asList(prompt.split(" "));
        if (!tooLong) {
            assertTrue(e.droppedWords().isEmpty());
            assertArrayEquals(full.ids(), Arrays.copyOf(e.ids(), full.size()));
            return;
        }
        assertEquals(maxLength, e.length());
        List<String> dropped = e.droppedWords();
        assertFalse(dropped.isEmpty());
        List<String> kept = words.subList(0, words.size() - dropped.size());
        assertEquals(words.subList(kept.size(), words.size()), dropped, "dropped words are the prompt's tail");
        // CLIP decodes digits as separate words ("4 k"), so compare without spaces
        String decoded = t.decode(e.ids()).replace(" ", "");
        assertTrue(decoded.startsWith(String.join("", kept)), () -> "'" + decoded + "' lacks kept words " + kept);
        String throughFirstDropped = String.join("", words.subList(0, kept.size() + 1));
        assertTrue(decoded.length() < throughFirstDropped.length(), "the first dropped word is not entirely kept");
    }

    @Test
    void paddingUsesTheConfiguredId() {
        qt().withExamples(100).forAll(plainPrompts(), integers().between(0, 49407)).checkAssert((p, padId) -> {
            ClipTokenizer clip = CLIP.withPadId(padId);
            Encoding full = clip.encode(p.text());
            int maxLength = full.size() + 5;
            Encoding e = clip.encode(p.text(), maxLength);
            assertFalse(e.truncated());
            assertEquals(full.size(), e.length());
            assertArrayEquals(full.ids(), Arrays.copyOf(e.ids(), full.size()));
            List<Integer> padding = new ArrayList<>();
            for (int i = e.length(); i < maxLength; i++) {
                padding.add(e.id(i));
                assertEquals(-1, e.start(i));
            }
            assertEquals(List.of(padId, padId, padId, padId, padId), padding);
            assertEquals(full.size(), Arrays.stream(e.attentionMask()).sum());
        });
    }
}
