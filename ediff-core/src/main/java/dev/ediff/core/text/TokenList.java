package dev.ediff.core.text;

import java.util.Arrays;

/** A growable list of content tokens (id, vocabulary string, original offsets) made by a tokenizer model. */
final class TokenList {

    int size;
    int[] ids = new int[16];
    String[] tokens = new String[16];
    int[] starts = new int[16];
    int[] ends = new int[16];

    void add(int id, String token, int start, int end) {
        if (size == ids.length) {
            int n = size * 2;
            ids = Arrays.copyOf(ids, n);
            tokens = Arrays.copyOf(tokens, n);
            starts = Arrays.copyOf(starts, n);
            ends = Arrays.copyOf(ends, n);
        }
        ids[size] = id;
        tokens[size] = token;
        starts[size] = start;
        ends[size] = end;
        size++;
    }

    int[] idArray() {
        return Arrays.copyOf(ids, size);
    }
}
