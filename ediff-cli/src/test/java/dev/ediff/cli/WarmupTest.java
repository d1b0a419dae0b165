package dev.ediff.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The start-up warm-up runs for {@code generate} only, wherever its options are. */
class WarmupTest {

    @Test
    void onlyTheGenerateCommandIsWarmedUp() {
        assertTrue(Warmup.isGenerate(new String[] {"generate", "a cat"}));
        assertTrue(Warmup.isGenerate(new String[] {"--verbose", "generate", "--seed", "1", "a cat"}));
        assertFalse(Warmup.isGenerate(new String[] {"info"}));
        assertFalse(Warmup.isGenerate(new String[] {"help", "generate"}));
        assertFalse(Warmup.isGenerate(new String[] {"--help"}));
        assertFalse(Warmup.isGenerate(new String[0]));
        assertNull(Warmup.start(new String[] {"info"}));
    }
}
