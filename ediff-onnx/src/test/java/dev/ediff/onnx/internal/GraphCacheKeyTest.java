package dev.ediff.onnx.internal;

import dev.ediff.onnx.SessionConfig;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Graph cache entries are keyed by the engine's version: an optimized graph (and above all an
 * ORT-format file, which only the release that wrote it reads) written by one ONNX Runtime release
 * must never be opened by another, e.g. after moving from 1.28 to 1.29 or when
 * {@code ediff.onnxruntime.library} names a 1.30 engine.
 */
class GraphCacheKeyTest {

    private static final String SHA = "ab".repeat(32);

    @Test
    void everyEngineVersionAndFormatHasItsOwnKey() {
        SessionConfig config = SessionConfig.builder().intraOpThreads(1).build();
        Set<String> keys = new HashSet<>();
        List<String> versions = List.of("1.28.0", "1.29.0", "1.30.0");
        for (String v : versions) {
            for (boolean ort : new boolean[] {false, true}) {
                keys.add(GraphCache.key(v, config, SHA, ort));
                assertEquals(GraphCache.key(v, config, SHA, ort), GraphCache.key(v, config, SHA.toUpperCase(), ort),
                        "the same inputs give the same key");
            }
        }
        assertEquals(versions.size() * 2, keys.size(), "distinct keys for each version and format: " + keys);
    }
}
