package dev.ediff.core.text;

/**
 * GPT-2/CLIP's reversible byte-to-character table: printable Latin-1 bytes map to themselves, the
 * other 68 bytes to U+0100 and up, so every byte sequence becomes a string of visible characters
 * that BPE merges can be written with.
 */
final class ByteUnicode {

    private static final char[] ENCODE = new char[256];
    private static final int[] DECODE = new int[0x200];

    static {
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        }
        java.util.Arrays.fill(DECODE, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            ENCODE[b] = printable[b] ? (char) b : (char) (256 + next++);
            DECODE[ENCODE[b]] = b;
        }
    }

    private ByteUnicode() {
    }

    static char encode(int b) {
        return ENCODE[b & 0xFF];
    }

    /** The byte of a table character, or -1 for a character outside the table. */
    static int decode(char c) {
        return c < DECODE.length ? DECODE[c] : -1;
    }

    /**
     * The 256 table characters in the reference's order (printable bytes first, ascending, then the
     * remapped ones): the first 256 entries of the CLIP vocabulary.
     */
    static char[] vocabularyOrder() {
        char[] out = new char[256];
        int k = 0;
        for (int b = 0; b < 256; b++) {
            if (ENCODE[b] == b) {
                out[k++] = ENCODE[b];
            }
        }
        for (int b = 0; b < 256; b++) {
            if (ENCODE[b] != b) {
                out[k++] = ENCODE[b];
            }
        }
        return out;
    }
}
