package dev.ediff.core.text;

import java.util.Arrays;

/**
 * An open-addressing map from a pair of ids (packed in a long) to a long value, for BPE merges:
 * a boxed {@code HashMap<Long, Long>} of ~49k merges costs most of the vocabulary's load time and
 * a boxing per lookup in the hot merge loop.
 */
final class PairRanks {

    private static final long EMPTY = Long.MIN_VALUE;

    private final long[] keys;
    private final long[] values;
    private final int mask;

    PairRanks(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY);
    }

    static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** Stores {@code value} unless {@code key} is present (the first rank of a repeated merge wins). */
    void putIfAbsent(long key, long value) {
        int i = slot(key);
        while (keys[i] != EMPTY) {
            if (keys[i] == key) {
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
    }

    /** The value of {@code key}, or {@code missing}. */
    long get(long key, long missing) {
        int i = slot(key);
        while (keys[i] != EMPTY) {
            if (keys[i] == key) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return missing;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }
}
