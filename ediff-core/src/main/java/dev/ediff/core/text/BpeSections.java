package dev.ediff.core.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The two large parts of a BPE {@code tokenizer.json}, {@code model.vocab} and {@code model.merges},
 * read by a plain byte scanner, and the rest of the file with those two values emptied, for the
 * JSON tree reader. A CLIP tokenizer.json is 1.7 MB, almost all of it these two parts; building a
 * JSON tree of 100,000 nodes in a fresh JVM cost most of a second, and a byte loop a few tens of
 * milliseconds.
 *
 * <p>Only the plain layout is taken: a vocabulary of {@code "token": integer} entries and merges
 * as {@code "a b"} strings or {@code ["a", "b"]} pairs, valid UTF-8, each part present once. For
 * anything else {@link #split} answers null and the caller reads the file with the tree reader,
 * which gives the same tokenizer or the same error message as before.
 */
final class BpeSections {

    /** token -> id, in file order (a repeated token keeps its last id, as the tree reader does). */
    final Map<String, Integer> vocab;
    /** The merges in rank order, each a pair of token strings. */
    final List<String[]> merges;
    /** The file with {@code model.vocab} replaced by {} and {@code model.merges} by []. */
    final byte[] rest;

    private BpeSections(Map<String, Integer> vocab, List<String[]> merges, byte[] rest) {
        this.vocab = vocab;
        this.merges = merges;
        this.rest = rest;
    }

    /** Thrown inside the scanner when the layout is not the plain one; never leaves this class. */
    private static final class NotPlain extends Exception {
        NotPlain() {
            super(null, null, false, false);
        }
    }

    private final static class Scanner {
        final byte[] b;
        int pos;
        final StringBuilder sb = new StringBuilder();

        Scanner(byte[] b, int pos) {
            this.b = b;
            this.pos = pos;
        }

        int peek() throws NotPlain {
            skipWs();
            if (pos >= b.length) {
                throw new NotPlain();
            }
            return b[pos];
        }

        void skipWs() {
            while (pos < b.length && (b[pos] == ' ' || b[pos] == '\n' || b[pos] == '\r' || b[pos] == '\t')) {
                pos++;
            }
        }

        void expect(char c) throws NotPlain {
            if (peek() != c) {
                throw new NotPlain();
            }
            pos++;
        }

        /** Reads a JSON string at the cursor (after white space). */
        String string() throws NotPlain {
            expect('"');
            int start = pos;
            boolean ascii = true;
            while (true) {
                if (pos >= b.length) {
                    throw new NotPlain();
                }
                int c = b[pos];
                if (c == '"') {
                    break;
                }
                if (c == '\\') {
                    return escaped(start);
                }
                if (c >= 0 && c < 0x20) {
                    throw new NotPlain();
                }
                if (c < 0) {
                    ascii = false;
                }
                pos++;
            }
            String s = ascii ? new String(b, start, pos - start, StandardCharsets.ISO_8859_1)
                    : utf8(start, pos);
            pos++;
            return s;
        }

        private String utf8(int from, int to) throws NotPlain {
            String s = new String(b, from, to - from, StandardCharsets.UTF_8);
            // Malformed UTF-8 decodes to U+FFFD; let the tree reader decide (a real U+FFFD just takes that path too).
            if (s.indexOf('\uFFFD') >= 0) {
                throw new NotPlain();
            }
            return s;
        }

        private String escaped(int start) throws NotPlain {
            sb.setLength(0);
            int segment = start;
            while (true) {
                if (pos >= b.length) {
                    throw new NotPlain();
                }
                int c = b[pos];
                if (c == '"') {
                    sb.append(utf8(segment, pos));
                    pos++;
                    return sb.toString();
                }
                if (c >= 0 && c < 0x20) {
                    throw new NotPlain();
                }
                if (c != '\\') {
                    pos++;
                    continue;
                }
                sb.append(utf8(segment, pos));
                if (pos + 1 >= b.length) {
                    throw new NotPlain();
                }
                int e = b[pos + 1];
                pos += 2;
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (pos + 4 > b.length) {
                            throw new NotPlain();
                        }
                        int v = 0;
                        for (int k = 0; k < 4; k++) {
                            int d = Character.digit(b[pos + k], 16);
                            if (d < 0) {
                                throw new NotPlain();
                            }
                            v = v * 16 + d;
                        }
                        pos += 4;
                        sb.append((char) v);
                    }
                    default -> throw new NotPlain();
                }
                segment = pos;
            }
        }

        /** A plain integer literal that fits an int. */
        int integer() throws NotPlain {
            skipWs();
            int start = pos;
            boolean negative = pos < b.length && b[pos] == '-';
            if (negative) {
                pos++;
            }
            long v = 0;
            int digits = 0;
            while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
                v = v * 10 + (b[pos++] - '0');
                if (++digits > 10) {
                    throw new NotPlain();
                }
            }
            if (digits == 0 || (digits > 1 && b[start + (negative ? 1 : 0)] == '0')) {
                throw new NotPlain();
            }
            if (pos < b.length && (b[pos] == '.' || b[pos] == 'e' || b[pos] == 'E')) {
                throw new NotPlain();
            }
            v = negative ? -v : v;
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new NotPlain();
            }
            return (int) v;
        }

        /** Skips any JSON value (strings, nesting); the tree reader checks its syntax later. */
        void skipValue() throws NotPlain {
            int c = peek();
            if (c == '"') {
                string();
                return;
            }
            if (c == '{' || c == '[') {
                int depth = 0;
                while (pos < b.length) {
                    int x = b[pos];
                    if (x == '"') {
                        string();
                        continue;
                    }
                    if (x == '{' || x == '[') {
                        depth++;
                    } else if (x == '}' || x == ']') {
                        depth--;
                        if (depth == 0) {
                            pos++;
                            return;
                        }
                    }
                    pos++;
                }
                throw new NotPlain();
            }
            while (pos < b.length && b[pos] != ',' && b[pos] != '}' && b[pos] != ']') {
                pos++;
            }
        }
    }

    /**
     * Reads {@code model.vocab} and {@code model.merges} of a tokenizer.json, or answers null when
     * the file does not have the plain layout (the caller then uses the tree reader).
     */
    static BpeSections split(byte[] json) {
        try {
            Scanner s = new Scanner(json, 0);
            int[] vocabRange = null;
            int[] mergesRange = null;
            Map<String, Integer> vocab = null;
            List<String[]> merges = null;
            boolean seenModel = false;
            s.expect('{');
            if (s.peek() != '}') {
                do {
                    String key = s.string();
                    s.expect(':');
                    if (!key.equals("model")) {
                        s.skipValue();
                        continue;
                    }
                    if (seenModel) {
                        throw new NotPlain();
                    }
                    seenModel = true;
                    s.expect('{');
                    if (s.peek() == '}') {
                        s.pos++;
                        continue;
                    }
                    do {
                        String k = s.string();
                        s.expect(':');
                        if (k.equals("vocab")) {
                            if (vocab != null) {
                                throw new NotPlain();
                            }
                            s.skipWs();
                            int from = s.pos;
                            vocab = vocab(s);
                            vocabRange = new int[] {from, s.pos};
                        } else if (k.equals("merges")) {
                            if (merges != null) {
                                throw new NotPlain();
                            }
                            s.skipWs();
                            int from = s.pos;
                            merges = merges(s);
                            mergesRange = new int[] {from, s.pos};
                        } else {
                            s.skipValue();
                        }
                    } while (next(s, '}'));
                } while (next(s, '}'));
            } else {
                s.pos++;
            }
            if (vocab == null || merges == null) {
                throw new NotPlain();
            }
            return new BpeSections(vocab, merges, emptied(json, vocabRange, "{}", mergesRange, "[]"));
        } catch (NotPlain e) {
            return null;
        }
    }

    /** After a member: true at a comma (another follows), false at {@code close} (consumed). */
    private static boolean next(Scanner s, char close) throws NotPlain {
        int c = s.peek();
        s.pos++;
        if (c == ',') {
            return true;
        }
        if (c == close) {
            return false;
        }
        throw new NotPlain();
    }

    private static Map<String, Integer> vocab(Scanner s) throws NotPlain {
        s.expect('{');
        Map<String, Integer> vocab = new HashMap<>(1 << 17);
        if (s.peek() == '}') {
            s.pos++;
            return vocab;
        }
        do {
            String token = s.string();
            s.expect(':');
            vocab.put(token, s.integer());
        } while (next(s, '}'));
        return vocab;
    }

    private static List<String[]> merges(Scanner s) throws NotPlain {
        s.expect('[');
        List<String[]> merges = new ArrayList<>(1 << 16);
        if (s.peek() == ']') {
            s.pos++;
            return merges;
        }
        do {
            String[] pair;
            if (s.peek() == '"') {
                pair = s.string().split(" ");
                if (pair.length != 2) {
                    throw new NotPlain(); // the tree reader names the bad entry
                }
            } else {
                s.expect('[');
                String a = s.string();
                s.expect(',');
                String b = s.string();
                s.expect(']');
                pair = new String[] {a, b};
            }
            merges.add(pair);
        } while (next(s, ']'));
        return merges;
    }

    private static byte[] emptied(byte[] json, int[] r1, String v1, int[] r2, String v2) {
        int[] first = r1[0] < r2[0] ? r1 : r2;
        int[] second = first == r1 ? r2 : r1;
        String f = first == r1 ? v1 : v2;
        String g = first == r1 ? v2 : v1;
        int size = json.length - (first[1] - first[0]) - (second[1] - second[0]) + f.length() + g.length();
        byte[] out = new byte[size];
        int o = 0;
        System.arraycopy(json, 0, out, o, first[0]);
        o += first[0];
        for (int i = 0; i < f.length(); i++) {
            out[o++] = (byte) f.charAt(i);
        }
        System.arraycopy(json, first[1], out, o, second[0] - first[1]);
        o += second[0] - first[1];
        for (int i = 0; i < g.length(); i++) {
            out[o++] = (byte) g.charAt(i);
        }
        System.arraycopy(json, second[1], out, o, json.length - second[1]);
        return out;
    }
}
