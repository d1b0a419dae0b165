package dev.ediff.core.text;

import dev.ediff.core.cache.BoundedCache;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE with CLIP's end-of-word suffix: a piece's UTF-8 bytes become table characters,
 * {@code </w>} is attached to the last one, then the adjacent pair with the lowest merge rank is
 * merged (every occurrence, left to right) until no pair has a rank. Symbols are handled as vocabulary
 * ids, merges as a map from an id pair to (rank, merged id). Results are cached per piece. The
 * vocabulary and merges are held as a few arrays, which {@link CompactBpe} stores and loads whole.
 */
final class BpeModel {

    static final String END_OF_WORD = "</w>";
    private static final int CACHE_SIZE = 100_000;

    /** Tokens of one piece, with the cumulative number of piece bytes at the end of each token. */
    record Word(int[] ids, int[] byteEnds) {
    }

    /*
     * The vocabulary, packed (no String or boxed Integer per token, so that CompactBpe can store and
     * load it as a few arrays): entry e is the token text[textOffsets[e] .. textOffsets[e + 1]) with
     * the id entryIds[e]; idEntries[id] is the entry whose text token(id) answers (-1: no token);
     * table is an open-addressing hash set of entry numbers (-1: free), probed linearly from
     * hash(token) & (table.length - 1). The text is UTF-16 chars, as the map's keys were, so that
     * any string (a lone surrogate of a JSON escape too) is stored exactly.
     */
    private final char[] text;
    private final int[] textOffsets;
    private final int[] entryIds;
    private final int[] idEntries;
    private final int[] table;
    /** (left id << 32 | right id) -> (rank << 32 | merged id). */
    private final PairRanks merges;
    private final int[] byteIds = new int[256];
    private final int[] byteEndIds = new int[256];
    private final int unk;
    private final BoundedCache<String, Word> cache = new BoundedCache<>(CACHE_SIZE);

    /**
     * @param vocab  token string -> id (ids need not be dense, but must be non-negative)
     * @param merges merge pairs in rank order
     * @param unk    id for a byte symbol missing from the vocabulary, or {@link SpecialIds#NONE}
     * @param source file name for error messages
     */
    BpeModel(Map<String, Integer> vocab, List<String[]> merges, int unk, String source) {
        // One pass over the vocabulary: this runs in a fresh JVM, before the JIT helps.
        int max = -1;
        int chars = 0;
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0) {
                throw new TokenizerFormatException(source + ": vocabulary id " + id + " of '" + e.getKey() + "' is negative");
            }
            max = Math.max(max, id);
            chars += e.getKey().length();
        }
        int entries = vocab.size();
        this.text = new char[chars];
        this.textOffsets = new int[entries + 1];
        this.entryIds = new int[entries];
        this.idEntries = new int[max + 1];
        this.table = new int[tableSize(entries)];
        Arrays.fill(idEntries, -1);
        Arrays.fill(table, -1);
        int e = 0;
        int at = 0;
        for (Map.Entry<String, Integer> v : vocab.entrySet()) {
            String token = v.getKey();
            token.getChars(0, token.length(), text, at);
            at += token.length();
            textOffsets[e + 1] = at;
            entryIds[e] = v.getValue();
            idEntries[v.getValue()] = e; // a repeated id answers its last token, as the map's reverse did
            int slot = hash(text, textOffsets[e], at) & (table.length - 1);
            while (table[slot] >= 0) {
                slot = (slot + 1) & (table.length - 1);
            }
            table[slot] = e;
            e++;
        }
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
            this.merges.putIfAbsent(rank, a, b, ab);
        }
        this.unk = unk;
        byteTables();
    }

    /**
     * A model of arrays as {@link #text()} etc. answer them (kept, not copied), checked by the
     * caller ({@link CompactBpe}) to be consistent.
     */
    BpeModel(char[] text, int[] textOffsets, int[] entryIds, int[] idEntries, int[] table, PairRanks merges, int unk) {
        this.text = text;
        this.textOffsets = textOffsets;
        this.entryIds = entryIds;
        this.idEntries = idEntries;
        this.table = table;
        this.merges = merges;
        this.unk = unk;
        byteTables();
    }

    private void byteTables() {
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf(ByteUnicode.encode(b));
            byteIds[b] = id(c);
            byteEndIds[b] = id(c + END_OF_WORD);
        }
    }

    /** The hash table's length for {@code entries} tokens: sized as the merges' index (a power of two, at most half full). */
    static int tableSize(int entries) {
        return PairRanks.slotsFor(entries);
    }

    /** The hash of the chars {@code [from, to)} of {@code s} (FNV-1a over UTF-16 units; part of CompactBpe's format). */
    static int hash(char[] s, int from, int to) {
        int h = 0x811C9DC5;
        for (int i = from; i < to; i++) {
            h = (h ^ s[i]) * 0x01000193;
        }
        return h ^ (h >>> 15);
    }

    private static int hash(String s) {
        int h = 0x811C9DC5;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x01000193;
        }
        return h ^ (h >>> 15);
    }

    char[] text() {
        return text;
    }

    int[] textOffsets() {
        return textOffsets;
    }

    int[] entryIds() {
        return entryIds;
    }

    int[] idEntries() {
        return idEntries;
    }

    int[] table() {
        return table;
    }

    PairRanks merges() {
        return merges;
    }

    int unk() {
        return unk;
    }

    int size() {
        return idEntries.length;
    }

    /** The token string of {@code id}, or null for an id without one. */
    String token(int id) {
        if (id < 0 || id >= idEntries.length || idEntries[id] < 0) {
            return null;
        }
        int e = idEntries[id];
        return new String(text, textOffsets[e], textOffsets[e + 1] - textOffsets[e]);
    }

    /** The id of {@code token}, or -1. */
    int id(String token) {
        int mask = table.length - 1;
        for (int slot = hash(token) & mask; table[slot] >= 0; slot = (slot + 1) & mask) {
            int e = table[slot];
            int from = textOffsets[e];
            if (textOffsets[e + 1] - from == token.length() && sameChars(token, from)) {
                return entryIds[e];
            }
        }
        return -1;
    }

    private boolean sameChars(String token, int from) {
        for (int i = 0; i < token.length(); i++) {
            if (text[from + i] != token.charAt(i)) {
                return false;
            }
        }
        return true;
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
