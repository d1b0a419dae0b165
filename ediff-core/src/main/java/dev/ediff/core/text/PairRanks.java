package dev.ediff.core.text;

import java.util.Arrays;

/**
 * BPE merges by rank, with an open-addressing index from a pair of ids to its rank: a boxed
 * {@code HashMap<Long, Long>} of ~49k merges costs most of the vocabulary's load time and a boxing
 * per lookup in the hot merge loop. All ints (~1.1 MB for CLIP, half of a table of longs), since
 * every new megabyte costs milliseconds to touch in a fresh JVM and {@link CompactBpe} stores
 * these arrays as they are.
 */
final class PairRanks {

    /** The pairs of each rank: left id, right id, merged id. */
    private final int[] lefts;
    private final int[] rights;
    private final int[] merged;
    /** Per slot, the rank stored there, or -1 (free); probed linearly from {@link #slot}. */
    private final int[] slots;
    private final int mask;

    /** An empty table for {@code count} merges, added with {@link #putIfAbsent} in rank order. */
    PairRanks(int count) {
        lefts = new int[count];
        rights = new int[count];
        merged = new int[count];
        slots = new int[slotsFor(count)];
        mask = slots.length - 1;
        Arrays.fill(slots, -1);
    }

    /** The table as stored by {@link CompactBpe} (kept, not copied; checked by it to be consistent). */
    PairRanks(int[] lefts, int[] rights, int[] merged, int[] slots) {
        if (lefts.length != rights.length || lefts.length != merged.length || slots.length != slotsFor(lefts.length)) {
            throw new IllegalArgumentException("merge arrays of inconsistent lengths");
        }
        this.lefts = lefts;
        this.rights = rights;
        this.merged = merged;
        this.slots = slots;
        this.mask = slots.length - 1;
    }

    /** The number of slots for {@code count} merges: a power of two, at most half full. */
    static int slotsFor(int count) {
        return Integer.highestOneBit(Math.max(2, count) * 2 - 1) << 1;
    }

    static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** Stores merge {@code rank}, (a, b) -> ab, unless the pair has a rank already (the first rank of a repeated merge wins). */
    void putIfAbsent(int rank, int a, int b, int ab) {
        lefts[rank] = a;
        rights[rank] = b;
        merged[rank] = ab;
        int i = slot(key(a, b));
        while (slots[i] >= 0) {
            int r = slots[i];
            if (lefts[r] == a && rights[r] == b) {
                return;
            }
            i = (i + 1) & mask;
        }
        slots[i] = rank;
    }

    /** The value of {@code key} (a {@link #key} pair) as {@code rank << 32 | merged id}, or {@code missing}. */
    long get(long key, long missing) {
        int a = (int) (key >>> 32);
        int b = (int) key;
        int i = slot(key);
        int r;
        while ((r = slots[i]) >= 0) {
            if (lefts[r] == a && rights[r] == b) {
                return ((long) r << 32) | merged[r];
            }
            i = (i + 1) & mask;
        }
        return missing;
    }

    int[] lefts() {
        return lefts;
    }

    int[] rights() {
        return rights;
    }

    int[] merged() {
        return merged;
    }

    int[] slots() {
        return slots;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }
}
