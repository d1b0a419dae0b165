package dev.ediff.core.text;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The miniature model's tokenizers (tools/mini/export, written by the Python tooling with the
 * HuggingFace tokenizers library) give the same ids in the SDK as in Python, case by case.
 */
class MiniTokenizerCasesTest {

    static final Path EXPORT = Path.of("../tools/mini/export");

    @ParameterizedTest
    @ValueSource(strings = {"clip", "t5"})
    void theSdkReproducesThePythonIds(String encoder) {
        Path dir = EXPORT.resolve(encoder);
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")), "missing " + dir.resolve("tokenizer.json"));
        Tokenizer tokenizer = Tokenizers.load(dir.resolve("tokenizer.json"));
        List<TokenizerConformance.CaseResult> results = TokenizerConformance.run(tokenizer, dir.resolve("tokenizer_cases.json"));
        assertTrue(results.size() >= 50, encoder + ": expected the 57 cases, got " + results.size());
        List<String> failures = results.stream().filter(r -> !r.passed())
                .map(r -> "#" + r.index() + " \"" + r.text() + "\": " + r.detail()).toList();
        assertTrue(failures.isEmpty(), encoder + ": " + failures);
    }
}
