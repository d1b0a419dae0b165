package dev.ediff.core.text;

import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared CLIP tokenizer cases, with the real vocabulary from the classpath. */
class ClipTokenizerConformanceTest {

    static Path casesFile() {
        try {
            return Path.of(ClipTokenizerConformanceTest.class.getResource("/conformance/clip_tokenizer_cases.json").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void everyCaseMatchesTheReferenceIds() {
        List<TokenizerConformance.CaseResult> results = TokenizerConformance.run(ClipTokenizer.standard(), casesFile());
        assertEquals(27, results.size());
        StringBuilder failures = new StringBuilder();
        for (TokenizerConformance.CaseResult r : results) {
            if (!r.passed()) {
                failures.append("\n  [").append(r.index()).append("] ").append(r.text()).append(": ").append(r.detail());
            }
        }
        assertTrue(failures.length() == 0, "failing cases:" + failures);
    }

    @Test
    void runsTheCasesAConformanceManifestLists() {
        List<TokenizerConformance.CaseResult> results = TokenizerConformance.runDirectory(casesFile().getParent());
        assertEquals(27, results.size());
        assertTrue(results.stream().allMatch(TokenizerConformance.CaseResult::passed));
    }

    @Test
    void aWrongIdIsReportedAsAFailureWithItsPosition() {
        com.fasterxml.jackson.databind.node.ArrayNode cases = new com.fasterxml.jackson.databind.ObjectMapper().createArrayNode();
        cases.addObject().put("text", "a horse").putArray("ids").add(49406).add(320).add(4559).add(49407);
        TokenizerConformance.CaseResult r = TokenizerConformance.run(ClipTokenizer.standard(), cases, "inline").get(0);
        assertTrue(!r.passed() && r.detail().contains("differ at 2"), r.detail());
    }

    @Test
    void standardVocabularyHasClipsSizeAndSpecialIds() {
        ClipTokenizer t = ClipTokenizer.standard();
        assertEquals(49408, t.vocabSize());
        assertEquals(new SpecialIds(49406, 49407, 49407, 49407), t.specialIds());
        assertEquals(77, t.contextLength());
    }
}
