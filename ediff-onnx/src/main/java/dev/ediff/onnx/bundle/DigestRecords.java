package dev.ediff.onnx.bundle;

import dev.ediff.core.cache.CacheFiles;
import dev.ediff.onnx.internal.GraphCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * The digests of bundle files as verified by an earlier process, one small file per
 * {@link FileStamp} in the folder beside the optimized-graph cache's ({@link GraphCache#folder()}),
 * named as it with {@code .verified} added ({@code ~/.cache/ediff/graphs.verified} by default). {@link BundleCache} keeps the same knowledge for one process; this
 * record lets a fresh process (the CLI's every run) skip hashing the model files (~29 MB for the
 * default bundle, 0.2-0.3 s of CPU under the client compiler) and, for a self-contained model,
 * reading them at all when its session opens from a cached graph.
 *
 * <p>What a record is trusted for is what the in-process cache is trusted for: a file whose stamp
 * (real path, inode, size, modification and status-change times; a jar entry's name, size and CRC
 * as well) is unchanged has unchanged content. A file changed since has another stamp and is read
 * and hashed again; a file changed too recently to be told apart has no stamp and is never
 * recorded. The recorded digest is still compared with the manifest's on every open. A record that
 * is unreadable or names another stamp is ignored. Whoever can write the record can also write the
 * cached graphs beside it, so the record adds no way in. Off with {@code -Dediff.graphCache=false},
 * as the graph cache.
 */
final class DigestRecords {

    /**
     * Looked up when something is logged (only on failures and at debug level): a load that logs
     * nothing does not pay for SLF4J's start-up, about 40 ms of a fresh JVM's class loading.
     */
    private static Logger log() {
        return LoggerFactory.getLogger(DigestRecords.class);
    }

    /** The first line of a record: the format's name and version. */
    static final String HEADER = "ediff verified digest 1";

    /**
     * A recorded digest.
     *
     * @param sha256        the file's SHA-256, 64 lowercase hex digits
     * @param selfContained true when the file was read as an ONNX model and holds no external data
     */
    record Entry(String sha256, boolean selfContained) {
    }

    private DigestRecords() {
    }

    /** The records' folder: beside the graph cache's, its name with {@code .verified} added (null for a root folder). */
    static Path folder() {
        Path graphs = GraphCache.folder().toAbsolutePath();
        return graphs.getFileName() == null ? null : graphs.resolveSibling(graphs.getFileName() + ".verified");
    }

    /** Whether records are read and written (the graph cache's switch). */
    static boolean on() {
        return folder() != null && !"false".equalsIgnoreCase(System.getProperty(GraphCache.PROPERTY, "true").trim());
    }

    /**
     * The digest recorded for this version of a file.
     *
     * @param stamp the file's stamp, or null
     * @return the record, or null when there is none (or no stamp, or records are off)
     */
    static Entry get(FileStamp stamp) {
        if (stamp == null || !on()) {
            return null;
        }
        Path file = file(stamp);
        try {
            List<String> lines = List.of(Files.readString(file, StandardCharsets.UTF_8).split("\n", 4));
            if (lines.size() == 4 && lines.get(0).equals(HEADER) && isDigest(lines.get(1))
                    && (lines.get(2).equals("self-contained") || lines.get(2).equals("unknown"))
                    && lines.get(3).equals(canonical(stamp))) {
                return new Entry(lines.get(1), lines.get(2).equals("self-contained"));
            }
            log().debug("ignoring the digest record {}: not a record of this file version", file);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            log().debug("ignoring the digest record {} ({})", file, e.toString());
        }
        return null;
    }

    /**
     * Records the digest of the content read while the file had {@code before} as its stamp, if it
     * still has it ({@code after}); never fails (a folder that cannot be written only means no record).
     *
     * @param before        the stamp taken before reading
     * @param after         the stamp taken after reading
     * @param sha256        the content's digest
     * @param selfContained whether the content is an ONNX model without external data
     */
    static void put(FileStamp before, FileStamp after, String sha256, boolean selfContained) {
        if (before == null || !before.equals(after) || sha256 == null || !on()) {
            return;
        }
        Entry known = get(before);
        if (known != null && known.sha256().equals(sha256) && (known.selfContained() || !selfContained)) {
            return;
        }
        try {
            CacheFiles.write(file(before), (HEADER + "\n" + sha256 + "\n" + (selfContained ? "self-contained" : "unknown")
                    + "\n" + canonical(before)).getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            log().debug("the digest of {} was not recorded ({})", before.file(), e.toString());
        }
    }

    /** The record's file: named by a hash of the stamp, so that any change of the stamp names another file. */
    static Path file(FileStamp stamp) {
        return folder().resolve(dev.ediff.onnx.internal.CacheNames.of(canonical(stamp)) + ".txt");
    }

    /** Every field of the stamp, in one string (the last line of the record, compared whole). */
    static String canonical(FileStamp s) {
        return "file=" + s.file() + "\u0000key=" + s.key() + "\u0000size=" + s.size() + "\u0000modified=" + s.modified()
                + "\u0000changed=" + s.changed() + "\u0000entry=" + s.entry() + "\u0000entrySize=" + s.entrySize()
                + "\u0000crc=" + s.crc();
    }

    private static boolean isDigest(String s) {
        if (s.length() != 64) {
            return false;
        }
        try {
            HexFormat.of().parseHex(s);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return s.equals(s.toLowerCase(java.util.Locale.ROOT));
    }
}
