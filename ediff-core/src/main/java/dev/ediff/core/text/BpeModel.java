package dev.ediff.core.text;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE with CLIP's end-of-word suffix: a piece's UTF-8 bytes become table characters,
 * {@code </w>} is attached to the last one, then the adjacent pair with the lowest merge rank is
 * merged (every occurrence, left to right) until no pair has a rank. Symbols are handled as vocabulary
 * ids, merges as a map from an id pair to (rank, merged id). Results are cached per piece.
 */
final class BpeModel {

    static final String END_OF_WORD = "</w>";
    private static final int CACHE_SIZE = 100_000;

    /** Tokens of one piece, with the cumulative number of piece bytes at the end of each token. */
    record Word(int[] ids, int[] byteEnds) {
    }

    private final String[] tokens;
    private final Map<String, Integer> ids;
    /** (left id << 32 | right id) -> (rank << 32 | merged id). */
    private final PairRanks merges;
    private final int[] byteIds = new int[256];
    private final int[] byteEndIds = new int[256];
    private final int unk;
    private final Cache<String, Word> cache = CacheBuilder.newBuilder().maximumSize(CACHE_SIZE).build();

    /**
     * @param vocab  token string -> id (ids need not be dense, but must be non-negative); kept, not
     *               copied: the caller hands it over and does not change it afterwards
     * @param merges merge pairs in rank order
     * @param unk    id for a byte symbol missing from the vocabulary, or {@link SpecialIds#NONE}
     * @param source file name for error messages
     */
    BpeModel(Map<String, Integer> vocab, List<String[]> merges, int unk, String source) {
        // One pass over the vocabulary and no copy of it: this runs in a fresh JVM, before the JIT helps.
        int max = -1;
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0) {
                throw new TokenizerFormatException(source + ": vocabulary id " + id + " of '" + e.getKey() + "' is negative");
            }
            max = Math.max(max, id);
        }
        this.tokens = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            tokens[e.getValue()] = e.getKey();
        }
        this.ids = vocab;
        this.merges = new PairRanks(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            Integer a = vocab.get(m[0]);
            Integer b = vocab.get(m[1]);
            Integer ab = vocab.get(m[0] + m[1]);
            if (a == null || b == null || ab == null) {
                throw new TokenizerFormatException(source + ": merge " + (rank + 1) + " '" + m[0] + " " + m[1]
                        + "' uses a token missing from the vocabulary ('"
                        + (a == null ? m[0] : b == null ? m[1] : m[0] + m[1]) + "')");
            }
            // a repeated pair keeps its first (lowest) rank, as in the reference's dict of ranks
            this.merges.putIfAbsent(PairRanks.key(a, b), ((long) rank << 32) | ab);
        }
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf(ByteUnicode.encode(b));
            byteIds[b] = vocab.getOrDefault(c, -1);
            byteEndIds[b] = vocab.getOrDefault(c + END_OF_WORD, -1);
        }
        this.unk = unk;
    }

    int size() {
        return tokens.length;
    }

    /** The token string of {@code id}, or null for an id without one. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** The id of {@code token}, or -1. */
    int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    /** The tokens of one piece of normalized text. */
    Word word(String piece) {
        Word w = cache.getIfPresent(piece);
        if (w == null) {
            w = merge(piece.getBytes(StandardCharsets.UTF_8));
            cache.put(piece, w);
        }
        return w;
    }

    private Word merge(byte[] bytes) {
        int n = bytes.length;
        int[] sym = new int[n];
        int[] len = new int[n];
        for (int i = 0; i < n; i++) {
            int id = (i == n - 1 ? byteEndIds : byteIds)[bytes[i] & 0xFF];
            if (id < 0) {
                if (unk < 0) {
                    throw new IllegalStateException("byte " + (bytes[i] & 0xFF) + " has no token and there is no unknown token");
                }
                id = unk;
            }
            sym[i] = id;
            len[i] = 1;
        }
        while (n > 1) {
            long best = Long.MAX_VALUE;
            int at = -1;
            for (int i = 0; i + 1 < n; i++) {
                long m = merges.get(PairRanks.key(sym[i], sym[i + 1]), Long.MAX_VALUE);
                if (m < best) {
                    best = m;
                    at = i;
                }
            }
            if (at < 0) {
                break;
            }
            int merged = (int) best;
            int a = sym[at];
            int b = sym[at + 1];
            int w = 0;
            for (int i = 0; i < n; ) {
                if (i + 1 < n && sym[i] == a && sym[i + 1] == b) {
                    sym[w] = merged;
                    len[w++] = len[i] + len[i + 1];
                    i += 2;
                } else {
                    sym[w] = sym[i];
                    len[w++] = len[i];
                    i++;
                }
            }
            n = w;
        }
        int[] ends = new int[n];
        int total = 0;
        for (int i = 0; i < n; i++) {
            total += len[i];
            ends[i] = total;
        }
        return new Word(Arrays.copyOf(sym, n), ends);
    }
}
