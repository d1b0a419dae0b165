package dev.ediff.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small assertions shared by the core tests. */
public final class TestSupport {

    private TestSupport() {
    }

    /** Asserts that {@code text} contains every one of {@code parts}. */
    public static void assertContains(String text, String... parts) {
        for (String p : parts) {
            assertTrue(text != null && text.contains(p), () -> "expected \"" + p + "\" in: " + text);
        }
    }
}
