package dev.ediff.onnx.bundle;

import dev.ediff.core.text.Tokenizer;

import java.lang.ref.SoftReference;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What opening a bundle again need not redo, per {@link FileStamp} (one version of one file):
 * the file's SHA-256 digest as last computed, and its parsed tokenizer. A server that reloads a
 * model then neither re-hashes its unchanged weights nor re-parses its tokenizer files (about 20 MB
 * of short-lived objects per open for the default bundle, which the heap would otherwise grow to hold).
 *
 * <p>A changed file has another stamp, so nothing stale is returned; a file without a stamp is never
 * cached. Both caches are small LRU maps (tokenizers held softly, so that memory pressure drops
 * them) and thread-safe; {@link #clear()} empties them.
 */
final class BundleCache {

    /** Tokenizers kept: the tokenizers of a few bundles. */
    static final int MAX_TOKENIZERS = 16;
    /** Digests kept: the files of many bundles (an entry is a few hundred bytes). */
    static final int MAX_DIGESTS = 1024;

    private static final Map<FileStamp, String> DIGESTS = lru(MAX_DIGESTS);
    private static final Map<FileStamp, SoftReference<Tokenizer>> TOKENIZERS = lru(MAX_TOKENIZERS);

    private BundleCache() {
    }

    /**
     * The SHA-256 (lowercase hex) last computed for this version of a file: in this process, or by
     * an earlier one ({@link DigestRecords}; remembered here once read).
     *
     * @param stamp the file's stamp, or null
     * @return the digest, or null when unknown
     */
    static String digest(FileStamp stamp) {
        if (stamp == null) {
            return null;
        }
        synchronized (DIGESTS) {
            String known = DIGESTS.get(stamp);
            if (known != null) {
                return known;
            }
        }
        DigestRecords.Entry recorded = DigestRecords.get(stamp);
        if (recorded == null) {
            return null;
        }
        remember(stamp, recorded.sha256());
        return recorded.sha256();
    }

    /**
     * Remembers the SHA-256 of the content read while the file had {@code before} as its stamp, if
     * it still has it ({@code after}), so that the content cannot have changed in between; a digest
     * new to this process is also recorded for later processes ({@link DigestRecords}).
     */
    static void putDigest(FileStamp before, FileStamp after, String sha256) {
        if (before != null && before.equals(after) && !sha256.equals(remember(before, sha256))) {
            DigestRecords.put(before, after, sha256, false);
        }
    }

    /** Keeps a digest known for this stamp in this process only; returns the one it replaces, or null. */
    static String remember(FileStamp stamp, String sha256) {
        synchronized (DIGESTS) {
            return DIGESTS.put(stamp, sha256);
        }
    }

    /**
     * The tokenizer parsed from this version of a file, if it is still held.
     *
     * @param stamp the file's stamp, or null
     * @return the tokenizer, or null
     */
    static Tokenizer tokenizer(FileStamp stamp) {
        if (stamp == null) {
            return null;
        }
        synchronized (TOKENIZERS) {
            SoftReference<Tokenizer> ref = TOKENIZERS.get(stamp);
            Tokenizer t = ref == null ? null : ref.get();
            if (ref != null && t == null) {
                TOKENIZERS.remove(stamp);
            }
            return t;
        }
    }

    /** Remembers a tokenizer parsed from content read between {@code before} and {@code after}, if they are equal. */
    static void putTokenizer(FileStamp before, FileStamp after, Tokenizer tokenizer) {
        if (before != null && before.equals(after)) {
            synchronized (TOKENIZERS) {
                TOKENIZERS.put(before, new SoftReference<>(tokenizer));
            }
        }
    }

    /** Forgets every digest and tokenizer. */
    static void clear() {
        synchronized (DIGESTS) {
            DIGESTS.clear();
        }
        synchronized (TOKENIZERS) {
            TOKENIZERS.clear();
        }
    }

    /** {@return the number of digests and of tokenizers held, for tests} */
    static int[] sizes() {
        synchronized (DIGESTS) {
            synchronized (TOKENIZERS) {
                return new int[] {DIGESTS.size(), TOKENIZERS.size()};
            }
        }
    }

    private static <K, V> Map<K, V> lru(int max) {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > max;
            }
        };
    }
}
