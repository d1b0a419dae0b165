package dev.ediff.onnx.internal;

import java.nio.charset.StandardCharsets;

/**
 * File names for cache entries, derived from the text that identifies an entry (a model's digest,
 * the engine, the options, the CPU; a file's stamp). A 128-bit hash of that text, two independently
 * seeded 64-bit lanes, as 32 hex digits. Not SHA-256: these names need no resistance to crafted
 * collisions (the texts are the SDK's own, and the digest records compare their stamp whole anyway),
 * and {@code MessageDigest}'s security-provider start-up cost 45-50 ms of a fresh JVM's model load
 * (docs/PERFORMANCE.md, "Session 8"). Two different texts collide with a probability of about
 * 2^-128 per pair.
 */
public final class CacheNames {

    private CacheNames() {
    }

    /**
     * The 32-hex-digit name of {@code text}.
     *
     * @param text what identifies the entry
     * @return 32 lower-case hex digits, the same for the same text in every JVM
     */
    public static String of(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        long h1 = 0x9E3779B97F4A7C15L ^ b.length;
        long h2 = 0xC2B2AE3D27D4EB4FL ^ ((long) b.length << 32);
        for (byte x : b) {
            h1 = mix(h1 ^ (x & 0xFF)) * 0xBF58476D1CE4E5B9L;
            h2 = Long.rotateLeft(h2 ^ (x & 0xFF), 23) * 0x94D049BB133111EBL + 0x2545F4914F6CDD1DL;
        }
        return hex(mix(h1 ^ (h2 >>> 31))) + hex(mix(h2 ^ (h1 >>> 29)));
    }

    /** SplitMix64's finalizer: every input bit affects every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static String hex(long v) {
        String s = Long.toHexString(v);
        return "0".repeat(16 - s.length()) + s;
    }
}
