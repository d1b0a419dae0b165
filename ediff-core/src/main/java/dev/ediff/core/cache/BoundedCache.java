package dev.ediff.core.cache;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A thread-safe map of at most {@code maximumSize} entries that drops the least recently used one
 * when full: the SDK's caches of tokenized pieces and text and style encodings. Written here rather
 * than taken from Guava's {@code CacheBuilder} because that cache's start-up (some 70 classes)
 * cost 50-80 ms of a fresh JVM's model load (docs/PERFORMANCE.md, "Session 8"), and these caches
 * need nothing of it but the size bound. A value is computed outside the lock, so two threads that
 * miss the same key at once may both compute it (the values here are deterministic); the first
 * one stored is kept. Not in the public API (this package is exported to {@code dev.ediff.onnx} only).
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class BoundedCache<K, V> {

    private final int maximumSize;
    private final LinkedHashMap<K, V> map; // guarded by itself
    private long hits; // guarded by map

    /**
     * An empty cache.
     *
     * @param maximumSize the largest number of entries kept, at least 1
     * @throws IllegalArgumentException if {@code maximumSize} is below 1
     */
    public BoundedCache(int maximumSize) {
        if (maximumSize < 1) {
            throw new IllegalArgumentException("maximumSize must be at least 1, got " + maximumSize);
        }
        this.maximumSize = maximumSize;
        this.map = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > BoundedCache.this.maximumSize;
            }
        };
    }

    /**
     * The value for {@code key}: the cached one, else {@code load}'s result, which is then cached.
     * An exception from {@code load} leaves the cache as it was and reaches the caller unchanged.
     *
     * @param key  the key
     * @param load computes the value (must not return null)
     * @return the value
     * @throws NullPointerException if {@code load} returns null
     */
    public V get(K key, Supplier<? extends V> load) {
        V v = getIfPresent(key);
        if (v != null) {
            return v;
        }
        V made = java.util.Objects.requireNonNull(load.get(), "the cache's loader returned null");
        synchronized (map) {
            V raced = map.putIfAbsent(key, made);
            return raced != null ? raced : made;
        }
    }

    /**
     * The cached value for {@code key}, or null; a hit marks the entry as recently used.
     *
     * @param key the key
     * @return the value or null
     */
    public V getIfPresent(K key) {
        synchronized (map) {
            V v = map.get(key);
            if (v != null) {
                hits++;
            }
            return v;
        }
    }

    /**
     * Stores a value, dropping the least recently used entry if the cache is full.
     *
     * @param key   the key
     * @param value the value (not null)
     */
    public void put(K key, V value) {
        java.util.Objects.requireNonNull(value, "value");
        synchronized (map) {
            map.put(key, value);
        }
    }

    /** {@return the number of lookups that found a value} */
    public long hits() {
        synchronized (map) {
            return hits;
        }
    }

    /** {@return the number of entries} */
    public int size() {
        synchronized (map) {
            return map.size();
        }
    }
}
