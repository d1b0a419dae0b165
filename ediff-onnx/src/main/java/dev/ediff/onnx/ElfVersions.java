package dev.ediff.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The GNU symbol versions of a 64-bit little-endian ELF shared library (Linux on x86-64 and
 * aarch64): the versions it defines, and a rewrite that lets ONNX Runtime's JNI library bind to a
 * newer engine. ONNX Runtime's JNI library asks for {@code OrtGetApiBase@VERS_1.28.0}; a 1.30 engine
 * defines the same function as {@code VERS_1.30.0}, so the dynamic linker refuses it although the C
 * API behind the function is versioned and backward compatible. {@link #unversion} marks the JNI
 * library's references to {@code libonnxruntime.so.*} as unversioned (version index 1) and their
 * version requirement as weak, in place: the references then bind to the engine's default version.
 */
final class ElfVersions {

    private static final int SHT_DYNSYM = 11;
    private static final int SHT_GNU_VERDEF = 0x6ffffffd;
    private static final int SHT_GNU_VERNEED = 0x6ffffffe;
    private static final int SHT_GNU_VERSYM = 0x6fffffff;
    private static final int VER_FLG_WEAK = 0x2;

    private ElfVersions() {
    }

    private record Section(int type, long offset, long size, int link) {
    }

    private static ByteBuffer elf(ByteBuffer file, String what) throws IOException {
        if (file.limit() < 64 || file.get(0) != 0x7f || file.get(1) != 'E' || file.get(2) != 'L' || file.get(3) != 'F') {
            throw new IOException(what + " is not an ELF shared library");
        }
        if (file.get(4) != 2 || file.get(5) != 1) {
            throw new IOException(what + " is not a 64-bit little-endian ELF library");
        }
        return file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static List<Section> sections(ByteBuffer b, String what) throws IOException {
        try {
            long shoff = b.getLong(0x28);
            int shentsize = Short.toUnsignedInt(b.getShort(0x3A));
            int shnum = Short.toUnsignedInt(b.getShort(0x3C));
            List<Section> out = new ArrayList<>(shnum);
            for (int i = 0; i < shnum; i++) {
                int o = Math.toIntExact(shoff + (long) i * shentsize);
                out.add(new Section(b.getInt(o + 4), b.getLong(o + 24), b.getLong(o + 32), b.getInt(o + 40)));
            }
            return out;
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new IOException(what + " has a damaged ELF section table", e);
        }
    }

    private static Section find(List<Section> sections, int type) {
        return sections.stream().filter(s -> s.type() == type).findFirst().orElse(null);
    }

    private static String string(ByteBuffer b, Section strtab, int offset) {
        int start = Math.toIntExact(strtab.offset() + offset);
        int end = start;
        while (b.get(end) != 0) {
            end++;
        }
        byte[] chars = new byte[end - start];
        b.get(start, chars);
        return new String(chars, StandardCharsets.US_ASCII);
    }

    /**
     * The symbol versions a library defines ({@code .gnu.version_d}), e.g. {@code [libonnxruntime.so.1,
     * VERS_1.30.0]}.
     *
     * @param file the library's bytes (e.g. the file mapped read-only: an engine is some 30 MB)
     * @param what the library's name, for messages
     * @return the defined version names, in file order; empty when it defines none
     * @throws IOException when the file is not a 64-bit little-endian ELF library or is damaged
     */
    static List<String> defined(ByteBuffer file, String what) throws IOException {
        ByteBuffer b = elf(file, what);
        List<Section> sections = sections(b, what);
        Section verdef = find(sections, SHT_GNU_VERDEF);
        List<String> names = new ArrayList<>();
        if (verdef == null) {
            return names;
        }
        try {
            Section strtab = sections.get(verdef.link());
            int off = Math.toIntExact(verdef.offset());
            while (true) {
                int cnt = Short.toUnsignedInt(b.getShort(off + 6));
                int aux = b.getInt(off + 12);
                int next = b.getInt(off + 16);
                if (cnt > 0) {
                    names.add(string(b, strtab, b.getInt(off + aux)));
                }
                if (next == 0) {
                    return names;
                }
                off += next;
            }
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new IOException(what + " has a damaged symbol version table", e);
        }
    }

    /**
     * Rewrites, in place, every reference of a library to symbols of {@code libonnxruntime.so.*} as
     * unversioned, and those version requirements as weak (see the class comment).
     *
     * @param file the JNI library's bytes, changed in place
     * @param what the library's name, for messages
     * @return the version names it required of the engine (e.g. {@code [VERS_1.28.0]}); empty when no
     *         symbol reference was changed (it had no versioned reference to the engine)
     * @throws IOException when the file is not a 64-bit little-endian ELF library or is damaged
     */
    static List<String> unversion(byte[] file, String what) throws IOException {
        ByteBuffer b = elf(ByteBuffer.wrap(file), what);
        List<Section> sections = sections(b, what);
        Section verneed = find(sections, SHT_GNU_VERNEED);
        Section versym = find(sections, SHT_GNU_VERSYM);
        Section dynsym = find(sections, SHT_DYNSYM);
        List<String> required = new ArrayList<>();
        if (verneed == null || versym == null || dynsym == null) {
            return required;
        }
        try {
            Section strtab = sections.get(verneed.link());
            Set<Integer> indices = new HashSet<>();
            int off = Math.toIntExact(verneed.offset());
            while (true) {
                int cnt = Short.toUnsignedInt(b.getShort(off + 2));
                String lib = string(b, strtab, b.getInt(off + 4));
                int aux = off + b.getInt(off + 8);
                int next = b.getInt(off + 12);
                for (int i = 0; i < cnt; i++) {
                    if (lib.startsWith("libonnxruntime.so")) {
                        b.putShort(aux + 4, (short) (b.getShort(aux + 4) | VER_FLG_WEAK));
                        indices.add(Short.toUnsignedInt(b.getShort(aux + 6)) & 0x7fff);
                        required.add(string(b, strtab, b.getInt(aux + 8)));
                    }
                    int anext = b.getInt(aux + 12);
                    if (anext == 0) {
                        break;
                    }
                    aux += anext;
                }
                if (next == 0) {
                    break;
                }
                off += next;
            }
            int changed = 0;
            int symbols = Math.toIntExact(versym.size() / 2);
            for (int i = 0; i < symbols; i++) {
                int o = Math.toIntExact(versym.offset() + 2L * i);
                if (indices.contains(Short.toUnsignedInt(b.getShort(o)) & 0x7fff)) {
                    b.putShort(o, (short) 1);
                    changed++;
                }
            }
            return changed == 0 ? List.of() : required;
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new IOException(what + " has a damaged symbol version table", e);
        }
    }

    /**
     * The ONNX Runtime version of an engine library: the newest {@code VERS_x.y.z} it defines.
     *
     * @param versions the library's defined versions ({@link #defined})
     * @return {major, minor, patch}, or null when there is no {@code VERS_} version
     */
    static int[] onnxRuntimeVersion(List<String> versions) {
        int[] best = null;
        for (String v : versions) {
            if (!v.startsWith("VERS_")) {
                continue;
            }
            String[] p = v.substring(5).split("\\.");
            if (p.length != 3) {
                continue;
            }
            try {
                int[] n = {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
                if (best == null || java.util.Arrays.compare(n, best) > 0) {
                    best = n;
                }
            } catch (NumberFormatException e) {
                // not a version number
            }
        }
        return best;
    }
}
