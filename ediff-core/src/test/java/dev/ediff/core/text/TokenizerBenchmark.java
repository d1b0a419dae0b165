package dev.ediff.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures the pure-Java CLIP tokenizer: load time of the full vocabulary and tokens per second on
 * the conformance prompts. Not a unit test (run by hand, numbers go in the note):
 * {@code java -cp ediff-core/target/classes:ediff-core/target/test-classes:<deps> dev.ediff.core.text.TokenizerBenchmark}.
 */
public final class TokenizerBenchmark {

    private TokenizerBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        List<String> prompts = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(ClipTokenizerConformanceTest.casesFile().toFile())) {
            prompts.add(c.get("text").asText());
        }
        double[] loads = new double[8];
        ClipTokenizer clip = null;
        for (int i = 0; i < loads.length; i++) {
            long t0 = System.nanoTime();
            try (InputStream in = TokenizerBenchmark.class.getResourceAsStream(ClipTokenizer.STANDARD_RESOURCE)) {
                clip = ClipTokenizer.fromBpeGz(in, "bench");
            }
            loads[i] = (System.nanoTime() - t0) / 1e6;
        }
        System.out.printf("CLIP vocab load (49408 tokens, 48894 merges from gz): first %.0f ms, then median %.0f ms%n",
                loads[0], median(Arrays.copyOfRange(loads, 1, loads.length)));

        long t0 = System.nanoTime();
        long tokens = 0;
        for (String p : prompts) {
            tokens += clip.encode(p).size() - 2;
        }
        double cold = (System.nanoTime() - t0) / 1e9;
        System.out.printf("CLIP cold first pass (empty word cache, JIT cold): %d tokens in %.1f ms = %.0f tokens/s%n",
                tokens, cold * 1e3, tokens / cold);

        report("CLIP warm", clip, prompts);
        report("CLIP warm, encodeToContext(77)", prompts, p -> clip77(p));
        // JIT warm, but a fresh word cache: every word goes through the BPE merges once
        ClipTokenizer fresh;
        try (InputStream in = TokenizerBenchmark.class.getResourceAsStream(ClipTokenizer.STANDARD_RESOURCE)) {
            fresh = ClipTokenizer.fromBpeGz(in, "bench");
        }
        t0 = System.nanoTime();
        tokens = 0;
        for (String p : prompts) {
            tokens += fresh.encode(p).size() - 2;
        }
        double uncached = (System.nanoTime() - t0) / 1e9;
        System.out.printf("CLIP uncached words, JIT warm: %d tokens in %.2f ms = %.0f tokens/s%n",
                tokens, uncached * 1e3, tokens / uncached);
        Tokenizer t5 = Tokenizers.load(UnigramTokenizerTest.resource("t5_mini_tokenizer.json"));
        report("T5 mini Unigram (166 pieces, no cache)", t5, prompts);
    }

    private static ClipTokenizer shared = ClipTokenizer.standard();

    private static int clip77(String p) {
        return shared.encodeToContext(p).length() - 2;
    }

    private static void report(String name, Tokenizer t, List<String> prompts) {
        report(name, prompts, p -> t.encode(p).size() - 2 - (t.specialIds().bos() == SpecialIds.NONE ? -1 : 0));
    }

    private static void report(String name, List<String> prompts, java.util.function.ToIntFunction<String> encode) {
        long tokens = 0;
        long end = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < end) {
            for (String p : prompts) {
                tokens += encode.applyAsInt(p);
            }
        }
        tokens = 0;
        long t0 = System.nanoTime();
        int passes = 0;
        while (System.nanoTime() - t0 < 3_000_000_000L) {
            for (String p : prompts) {
                tokens += encode.applyAsInt(p);
            }
            passes++;
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%s: %.0f tokens/s, %.0f prompts/s (%d passes over %d prompts)%n",
                name, tokens / s, passes * prompts.size() / s, passes, prompts.size());
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
