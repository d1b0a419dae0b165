package dev.ediff.onnx.internal;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cache names: stable, 32 hex digits, distinct for near-identical texts, every input change spread over the bits. */
class CacheNamesTest {

    @Test
    void namesAreStableHexAndDistinct() {
        String a = CacheNames.of("ediff-graph-cache 2\nab\nort 1.28.0");
        assertEquals(a, CacheNames.of("ediff-graph-cache 2\nab\nort 1.28.0"), "the same text, the same name");
        assertTrue(a.matches("[0-9a-f]{32}"), a);
        Set<String> names = new HashSet<>();
        Set<String> halves = new HashSet<>();
        int n = 0;
        for (int i = 0; i < 20_000; i++) {
            // texts that differ in one character, one digit, or their length only
            for (String t : new String[] {"stamp size=" + i, "stamp size=" + i + "\u0000", "x".repeat(i % 300) + i}) {
                String name = CacheNames.of(t);
                names.add(name);
                halves.add(name.substring(0, 16));
                n++;
            }
        }
        assertEquals(n, names.size(), "no two of the texts share a name");
        assertEquals(n, halves.size(), "not even the first 64 bits");
        assertEquals(CacheNames.of(""), CacheNames.of(""));
        assertTrue(!CacheNames.of("").equals(CacheNames.of("\u0000")), "the empty text and one zero byte differ");
    }

    @Test
    void oneCharacterChangesAboutHalfTheBits() {
        long changed = 0;
        int pairs = 0;
        for (int i = 0; i < 2000; i++) {
            String t = "model " + Integer.toHexString(i * 7919) + " engine 1.28.0 intra 1";
            String u = t.substring(0, 6) + (char) (t.charAt(6) ^ 1) + t.substring(7);
            String x = CacheNames.of(t);
            String y = CacheNames.of(u);
            for (int k = 0; k < 32; k += 16) {
                changed += Long.bitCount(Long.parseUnsignedLong(x.substring(k, k + 16), 16)
                        ^ Long.parseUnsignedLong(y.substring(k, k + 16), 16));
            }
            pairs++;
        }
        double share = changed / (128.0 * pairs);
        assertTrue(share > 0.47 && share < 0.53, "share of name bits a one-character change flips: " + share);
    }
}
