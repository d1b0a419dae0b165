package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs tokenizer case files ({@code [{"text": ..., "ids": [...]}, ...]}, the format of the shared
 * {@code clip_tokenizer_cases.json}): each text is encoded with {@link Tokenizer#encode(String)}
 * (special tokens, no padding, no truncation) and its ids compared exactly. For the
 * {@code conformance DIR} command.
 */
public final class TokenizerConformance {

    private TokenizerConformance() {
    }

    /** The outcome of one case; {@code detail} says where the ids first differ. */
    public record CaseResult(int index, String text, boolean passed, int[] expected, int[] actual, String detail) {
    }

    /**
     * Runs the tokenizer cases a conformance folder's {@code manifest.json} lists under
     * {@code tokenizer_cases} (one path or an array of paths, relative to the folder) with the real
     * CLIP vocabulary ({@link ClipTokenizer#standard()}).
     *
     * @param dir the conformance folder
     * @return one result per case; none without {@code tokenizer_cases}
     */
    public static List<CaseResult> runDirectory(Path dir) {
        Path manifest = dir.resolve("manifest.json");
        JsonNode root;
        try {
            root = TokenizerJson.mapper().readTree(manifest.toFile());
        } catch (IOException e) {
            throw new TokenizerFormatException(manifest + ": cannot read the conformance manifest: " + e.getMessage(), e);
        }
        JsonNode files = root.path("tokenizer_cases");
        List<CaseResult> results = new ArrayList<>();
        if (files.isTextual()) {
            results.addAll(run(ClipTokenizer.standard(), dir.resolve(files.asText())));
        } else if (files.isArray()) {
            for (JsonNode f : files) {
                results.addAll(run(ClipTokenizer.standard(), dir.resolve(f.asText())));
            }
        } else if (!files.isMissingNode() && !files.isNull()) {
            throw TokenizerFormatException.field(manifest.toString(), "tokenizer_cases", "expected a path or an array of paths");
        }
        return results;
    }

    /**
     * Runs every case of {@code caseFile}; a malformed file throws {@link TokenizerFormatException}.
     *
     * @param tokenizer the tokenizer under test
     * @param caseFile  the case file
     * @return one result per case
     */
    public static List<CaseResult> run(Tokenizer tokenizer, Path caseFile) {
        JsonNode root;
        try {
            root = TokenizerJson.mapper().readTree(caseFile.toFile());
        } catch (IOException e) {
            throw new TokenizerFormatException(caseFile + ": cannot read the tokenizer case file: " + e.getMessage(), e);
        }
        return run(tokenizer, root, caseFile.toString());
    }

    /**
     * Runs every case of an already parsed case array.
     *
     * @param tokenizer the tokenizer under test
     * @param cases     the cases
     * @param source    names the file in results and errors
     * @return one result per case
     */
    public static List<CaseResult> run(Tokenizer tokenizer, JsonNode cases, String source) {
        if (cases == null || !cases.isArray()) {
            throw new TokenizerFormatException(source + ": expected a JSON array of {\"text\", \"ids\"} cases");
        }
        List<CaseResult> results = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            if (!c.path("text").isTextual() || !c.path("ids").isArray()) {
                throw TokenizerFormatException.field(source, "[" + i + "]", "expected {\"text\": string, \"ids\": [int...]}");
            }
            String text = c.get("text").asText();
            int[] expected = new int[c.get("ids").size()];
            for (int k = 0; k < expected.length; k++) {
                expected[k] = c.get("ids").get(k).asInt();
            }
            results.add(check(tokenizer, i, text, expected));
        }
        return results;
    }

    private static CaseResult check(Tokenizer tokenizer, int index, String text, int[] expected) {
        int[] actual;
        try {
            actual = tokenizer.encode(text).ids();
        } catch (RuntimeException e) {
            return new CaseResult(index, text, false, expected, new int[0], "encode failed: " + e);
        }
        if (Arrays.equals(expected, actual)) {
            return new CaseResult(index, text, true, expected, actual, "");
        }
        int at = Arrays.mismatch(expected, actual);
        String detail = "ids differ at " + at + " (expected " + expected.length + " ids, got " + actual.length + "): expected "
                + Arrays.toString(expected) + ", got " + Arrays.toString(actual);
        return new CaseResult(index, text, false, expected, actual, detail);
    }
}
