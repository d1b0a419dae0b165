package dev.ediff.core.text;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32;

/**
 * A BPE tokenizer ({@link ClipTokenizer}) stored as the arrays it works on, so that a later process
 * loads it with a few bulk copies instead of parsing its {@code tokenizer.json} again.
 *
 * <p>Why: parsing CLIP's 1.7 MB tokenizer.json in a fresh JVM makes ~50,000 strings, map entries
 * and merge lookups before the JIT helps (~250 ms wall, ~460 ms CPU with the compiler threads,
 * on a 2-core machine where the other core is opening ONNX sessions). Here the vocabulary is one
 * char array with offsets and an open-addressing table of ints, and the merges are the
 * {@link PairRanks} arrays themselves, so loading copies ~3 MB into nine arrays and checks them in
 * plain int loops; nothing is done per token until a token is used.
 *
 * <p>A file is tied to the SHA-256 of the tokenizer file it was made from (the caller names it by
 * that digest too), and is only used when everything checks: magic, format version, digest, exact
 * length, CRC-32 of the content, and every index in range (so that even a file that passes the
 * CRC but is inconsistent cannot make a lookup fail or loop). Anything else answers null and the
 * caller parses the tokenizer file and writes a new one. Files are written to a temporary file
 * and moved into place, so a reader never sees half of one.
 *
 * <p>Layout, little-endian: {@code "EDIFFBPE"}, version, the source's 32-byte digest; context
 * length, bos, eos, pad and unk ids, the model's unknown id; the special pieces (count, then
 * length + UTF-16 units each); the counts of entries, ids, chars, table slots and merge slots;
 * then text, text offsets, entry ids, id entries, table, merges' left, right and merged ids by
 * rank, merge slots ({@link PairRanks}); last the CRC-32
 * of all that precedes it.
 */
public final class CompactBpe {

    /** The file's first eight bytes. */
    static final byte[] MAGIC = "EDIFFBPE".getBytes(StandardCharsets.US_ASCII);
    /** The format version; a file of another version is not read (the hash of {@link BpeModel} is part of it). */
    static final int VERSION = 1;
    /** The extension of a compact tokenizer file. */
    public static final String EXTENSION = ".bpe";

    private CompactBpe() {
    }

    /**
     * Writes {@code tokenizer} in the compact form to {@code file}, atomically (a temporary file in
     * the same folder, then moved into place); does nothing for a tokenizer that is not BPE.
     *
     * @param tokenizer a tokenizer, as parsed from the file whose digest is {@code sha256}
     * @param sha256    that file's SHA-256, 64 hex digits
     * @param file      where to write (its folder is created if missing)
     * @return true if written, false for a tokenizer that has no compact form
     * @throws IOException if the file cannot be written (no partial file is left)
     */
    public static boolean write(Tokenizer tokenizer, String sha256, Path file) throws IOException {
        if (!(tokenizer instanceof ClipTokenizer clip)) {
            return false;
        }
        dev.ediff.core.cache.CacheFiles.write(file, encode(clip, sha256));
        return true;
    }

    /**
     * Reads a compact tokenizer made from the file whose digest is {@code sha256}.
     *
     * @param file   the compact file
     * @param sha256 the digest of the tokenizer file it must have been made from, 64 hex digits
     * @return the tokenizer, or null when the file is missing, unreadable, of another format version,
     *         made from another file, truncated, corrupt or inconsistent
     */
    public static Tokenizer read(Path file, String sha256) {
        byte[] digest = digest(sha256);
        // Mapped, not read: a heap copy of the whole file would be one more ~3 MB of fresh memory to
        // touch, which is most of the cost here. Files are replaced by a move, never rewritten in place.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                return null;
            }
            return decode(ch.map(FileChannel.MapMode.READ_ONLY, 0, size), digest);
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InternalError e) {
            // the JVM's report of a fault reading a mapped file that was truncated meanwhile
            return null;
        }
    }

    /** The compact form of {@code t}, tied to the digest {@code sha256}. */
    static byte[] encode(ClipTokenizer t, String sha256) {
        byte[] digest = digest(sha256);
        BpeModel m = t.model();
        List<String> specials = t.specialPieces();
        PairRanks merges = m.merges();
        long size = MAGIC.length + 4 + 32 + 4 * 6 + 4;
        for (String s : specials) {
            size += 4 + 2L * s.length();
        }
        size += 4 * 5 + 2L * m.text().length + 4L * (m.textOffsets().length + m.entryIds().length
                + m.idEntries().length + m.table().length + 3L * merges.lefts().length + merges.slots().length) + 4;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("tokenizer too large for the compact form: " + size + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).put(digest);
        SpecialIds ids = t.specialIds();
        b.putInt(t.contextLength()).putInt(ids.bos()).putInt(ids.eos()).putInt(ids.pad()).putInt(ids.unk()).putInt(m.unk());
        b.putInt(specials.size());
        for (String s : specials) {
            b.putInt(s.length());
            for (int i = 0; i < s.length(); i++) {
                b.putChar(s.charAt(i));
            }
        }
        b.putInt(m.entryIds().length).putInt(m.idEntries().length).putInt(m.text().length).putInt(m.table().length)
                .putInt(merges.lefts().length);
        b.asCharBuffer().put(m.text());
        b.position(b.position() + 2 * m.text().length);
        for (int[] a : new int[][] {m.textOffsets(), m.entryIds(), m.idEntries(), m.table(), merges.lefts(),
                merges.rights(), merges.merged(), merges.slots()}) {
            b.asIntBuffer().put(a);
            b.position(b.position() + 4 * a.length);
        }
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /** The tokenizer stored in {@code bytes}, or null if they are not a valid compact form made from {@code sha256}. */
    static ClipTokenizer decode(byte[] bytes, String sha256) {
        return decode(ByteBuffer.wrap(bytes), digest(sha256));
    }

    /** The tokenizer stored in {@code bytes} (position 0 to its limit), or null as {@link #decode(byte[], String)}. */
    private static ClipTokenizer decode(ByteBuffer bytes, byte[] digest) {
        try {
            int length = bytes.limit();
            ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[MAGIC.length];
            byte[] source = new byte[32];
            b.get(magic);
            if (!Arrays.equals(magic, MAGIC) || b.getInt() != VERSION) {
                return null;
            }
            b.get(source);
            if (!Arrays.equals(source, digest) || length < b.position() + 4) {
                return null;
            }
            CRC32 crc = new CRC32();
            crc.update(bytes.duplicate().position(0).limit(length - 4));
            if ((int) crc.getValue() != b.getInt(length - 4)) {
                return null;
            }
            int contextLength = b.getInt();
            SpecialIds ids = new SpecialIds(b.getInt(), b.getInt(), b.getInt(), b.getInt());
            int modelUnk = b.getInt();
            int specialCount = b.getInt();
            if (specialCount < 0 || specialCount > b.remaining() / 4) {
                return null;
            }
            List<String> specials = new ArrayList<>(specialCount);
            for (int k = 0; k < specialCount; k++) {
                int len = b.getInt();
                if (len < 0 || len > b.remaining() / 2) {
                    return null;
                }
                char[] c = new char[len];
                b.asCharBuffer().get(c);
                b.position(b.position() + 2 * len);
                specials.add(new String(c));
            }
            int entries = b.getInt();
            int n = b.getInt();
            int chars = b.getInt();
            int tableLength = b.getInt();
            int mergeCount = b.getInt();
            if (entries < 0 || n < 0 || chars < 0 || mergeCount < 0 || tableLength != BpeModel.tableSize(entries)
                    || b.remaining() != 2L * chars + 4L * (entries + 1 + entries + n + tableLength + 3L * mergeCount
                    + PairRanks.slotsFor(mergeCount)) + 4) {
                return null;
            }
            char[] text = new char[chars];
            b.asCharBuffer().get(text);
            b.position(b.position() + 2 * chars);
            int[] textOffsets = ints(b, entries + 1);
            int[] entryIds = ints(b, entries);
            int[] idEntries = ints(b, n);
            int[] table = ints(b, tableLength);
            int[] lefts = ints(b, mergeCount);
            int[] rights = ints(b, mergeCount);
            int[] merged = ints(b, mergeCount);
            int[] slots = ints(b, PairRanks.slotsFor(mergeCount));
            if (!consistent(text, textOffsets, entryIds, idEntries, table) || !consistent(n, lefts, rights, merged, slots)) {
                return null;
            }
            BpeModel model = new BpeModel(text, textOffsets, entryIds, idEntries, table,
                    new PairRanks(lefts, rights, merged, slots), modelUnk);
            if (ids.bos() < 0 || ids.bos() >= n || ids.eos() < 0 || ids.eos() >= n || modelUnk < 0 || modelUnk >= n
                    || contextLength < 2) {
                return null;
            }
            for (String s : specials) {
                if (model.id(s) < 0) {
                    return null;
                }
            }
            return ClipTokenizer.of(model, specials, ids, contextLength);
        } catch (RuntimeException e) {
            // a truncated or inconsistent file: BufferUnderflowException, IllegalArgumentException, ...
            return null;
        }
    }

    private static int[] ints(ByteBuffer b, int count) {
        int[] a = new int[count];
        b.asIntBuffer().get(a);
        b.position(b.position() + 4 * count);
        return a;
    }

    /**
     * Every index in range and every table with a free slot (so that probing ends): what lookups
     * rely on to neither throw nor loop. Plain loops over the arrays, a few milliseconds cold.
     */
    private static boolean consistent(char[] text, int[] textOffsets, int[] entryIds, int[] idEntries, int[] table) {
        int entries = entryIds.length;
        int n = idEntries.length;
        if (textOffsets[0] != 0 || textOffsets[entries] != text.length) {
            return false;
        }
        for (int e = 0; e < entries; e++) {
            if (textOffsets[e + 1] < textOffsets[e] || entryIds[e] < 0 || entryIds[e] >= n) {
                return false;
            }
        }
        for (int id = 0; id < n; id++) {
            int e = idEntries[id];
            if (e < -1 || e >= entries || (e >= 0 && entryIds[e] != id)) {
                return false;
            }
        }
        int used = 0;
        for (int e : table) {
            if (e < -1 || e >= entries) {
                return false;
            }
            used += e >= 0 ? 1 : 0;
        }
        if (used != entries || used == table.length) {
            return false;
        }
        return true;
    }

    /** The merges' ids in range, their slots ranks, and one slot free. */
    private static boolean consistent(int n, int[] lefts, int[] rights, int[] merged, int[] slots) {
        for (int r = 0; r < lefts.length; r++) {
            if (lefts[r] < 0 || lefts[r] >= n || rights[r] < 0 || rights[r] >= n || merged[r] < 0 || merged[r] >= n) {
                return false;
            }
        }
        int free = 0;
        for (int r : slots) {
            if (r < -1 || r >= lefts.length) {
                return false;
            }
            free += r < 0 ? 1 : 0;
        }
        return free > 0;
    }

    private static byte[] digest(String sha256) {
        if (sha256 == null || sha256.length() != 64) {
            throw new IllegalArgumentException("expected a SHA-256 of 64 hex digits, got " + sha256);
        }
        return HexFormat.of().parseHex(sha256);
    }
}
