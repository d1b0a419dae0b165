package dev.ediff.core.text;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    private static Arbitrary<Prompt> prompts(Arbitrary<String> words, Arbitrary<String> separators, int maxWords) {
        return Arbitraries.integers().between(1, maxWords).flatMap(n -> Combinators.combine(
                words.list().ofSize(n), separators.list().ofSize(n),
                Arbitraries.integers().between(0, n - 1), Arbitraries.integers().between(1, n))
                .as((w, s, from, len) -> new Prompt(w, s, from, Math.min(n, from + len))));
    }

    @Provide
    Arbitrary<Prompt> clipPrompts() {
        // random capitals: CLIP lower-cases, so a phrase must be found whatever its case in the prompt
        Arbitrary<String> words = Arbitraries.of(WORDS).flatMap(w -> Arbitraries.of(w, w.toUpperCase(), capitalize(w)));
        return prompts(words, Arbitraries.of(" ", "  ", ", ", "\t", " - ", "; "), 30);
    }

    @Provide
    Arbitrary<Prompt> t5Prompts() {
        return prompts(Arbitraries.of(WORDS), Arbitraries.of(" ", "  ", ", ", "\t"), 30);
    }

    @Provide
    Arbitrary<Prompt> plainPrompts() {
        return prompts(Arbitraries.of(WORDS), Arbitraries.just(" "), 60);
    }

    private static String capitalize(String w) {
        return Character.toUpperCase(w.charAt(0)) + w.substring(1);
    }

    @Property(tries = 300)
    void clipFindsEveryWholeWordPhrase(@ForAll("clipPrompts") Prompt p) {
        checkSpan(CLIP, p);
    }

    @Property(tries = 300)
    void t5FindsEveryWholeWordPhrase(@ForAll("t5Prompts") Prompt p) {
        checkSpan(T5, p);
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

    @Property(tries = 200)
    void clipTruncationKeepsStartAndEndAndReportsDroppedWords(@ForAll("plainPrompts") Prompt p,
                                                              @ForAll @IntRange(min = 2, max = 80) int maxLength) {
        checkTruncation(CLIP, p.text(), maxLength);
    }

    @Property(tries = 200)
    void t5TruncationKeepsEndAndReportsDroppedWords(@ForAll("plainPrompts") Prompt p,
                                                    @ForAll @IntRange(min = 1, max = 80) int maxLength) {
        checkTruncation(T5, p.text(), maxLength);
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

    @Property(tries = 100)
    void paddingUsesTheConfiguredId(@ForAll("plainPrompts") Prompt p, @ForAll @IntRange(min = 0, max = 49407) int padId) {
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
    }
}
