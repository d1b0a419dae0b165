package dev.ediff.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The cache against a reference model of least-recently-used eviction (a list in use order). */
class BoundedCacheTest {

    @Test
    void evictsLikeAReferenceLruOverRandomTraffic() {
        Random r = new Random(11);
        for (int size : new int[] {1, 2, 7}) {
            BoundedCache<Integer, String> cache = new BoundedCache<>(size);
            Deque<Integer> order = new ArrayDeque<>(); // most recent last
            long hits = 0;
            for (int i = 0; i < 5000; i++) {
                int k = r.nextInt(12);
                boolean present = order.contains(k);
                String v = cache.get(k, () -> "v" + k);
                assertEquals("v" + k, v);
                if (present) {
                    hits++;
                }
                order.remove(k);
                order.addLast(k);
                if (order.size() > size) {
                    order.removeFirst();
                }
                assertEquals(order.size(), cache.size());
                for (int j = 0; j < 12; j++) {
                    assertEquals(order.contains(j), peekWithoutTouching(cache, order, j), "size " + size + " key " + j);
                }
            }
            assertEquals(hits, cache.hits() - probes, "hits counted as the reference counts them");
            probes = 0;
        }
    }

    private long probes;

    /** Whether the cache holds {@code key}; a hit touches the entry, so the reference is touched alike. */
    private boolean peekWithoutTouching(BoundedCache<Integer, String> cache, Deque<Integer> order, int key) {
        boolean held = cache.getIfPresent(key) != null;
        if (held) {
            probes++;
            order.remove(key);
            order.addLast(key);
        }
        return held;
    }

    @Test
    void aFailingLoaderLeavesNothingAndRethrows() {
        BoundedCache<String, String> cache = new BoundedCache<>(4);
        IllegalStateException e = new IllegalStateException("encoder failed");
        assertSame(e, assertThrows(IllegalStateException.class, () -> cache.get("a", () -> {
            throw e;
        })));
        assertNull(cache.getIfPresent("a"));
        AtomicInteger calls = new AtomicInteger();
        assertEquals("x", cache.get("a", () -> "x" + "".repeat(calls.incrementAndGet() - 1)));
        assertEquals("x", cache.get("a", () -> "y"));
        assertEquals(1, calls.get());
        assertThrows(IllegalArgumentException.class, () -> new BoundedCache<>(0));
    }
}
