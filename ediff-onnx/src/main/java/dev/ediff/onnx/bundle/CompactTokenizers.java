package dev.ediff.onnx.bundle;

import dev.ediff.core.text.CompactBpe;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.onnx.internal.GraphCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Tokenizers kept in their compact form ({@link CompactBpe}) for later processes, one file per
 * tokenizer file content, named by its SHA-256, in the folder beside the optimized-graph cache's
 * with {@code .tokenizers} added ({@code ~/.cache/ediff/graphs.tokenizers} by default). With the
 * digest known from a {@link DigestRecords} record, a fresh process opens the default bundle's CLIP
 * tokenizer without reading its 1.7 MB tokenizer.json at all (~20 ms instead of ~250 ms).
 *
 * <p>The digest still has to match the manifest's (checked by the caller first), and a file that
 * is missing, of another format version, made from other content, truncated or corrupt is not
 * used: the caller parses the tokenizer file and this writes the file anew. Off with
 * {@code -Dediff.graphCache=false}, as the other caches.
 */
final class CompactTokenizers {

    /** Looked up when something is logged, as in {@code NativeLibrary}: a load that logs nothing does not start SLF4J. */
    private static Logger log() {
        return LoggerFactory.getLogger(CompactTokenizers.class);
    }
    /** Tokenizers read from a compact file, and compact files written, in this process (for tests). */
    private static final AtomicLongArray COUNTS = new AtomicLongArray(2);

    private CompactTokenizers() {
    }

    /** {@return tokenizers read from compact files and compact files written so far in this process} */
    static long[] counts() {
        return new long[] {COUNTS.get(0), COUNTS.get(1)};
    }

    /** The folder: beside the graph cache's, its name with {@code .tokenizers} added (null for a root folder). */
    static Path folder() {
        Path graphs = GraphCache.folder().toAbsolutePath();
        return graphs.getFileName() == null ? null : graphs.resolveSibling(graphs.getFileName() + ".tokenizers");
    }

    /** The file for the tokenizer file whose content has {@code sha256}. */
    static Path file(String sha256) {
        return folder().resolve(sha256 + CompactBpe.EXTENSION);
    }

    /**
     * The tokenizer made from a tokenizer file with this digest by an earlier process.
     *
     * @param sha256 the tokenizer file's digest, already checked against the manifest
     * @return the tokenizer, or null when there is no usable compact file (or the cache is off)
     */
    static Tokenizer get(String sha256) {
        if (!DigestRecords.on()) {
            return null;
        }
        Tokenizer t = CompactBpe.read(file(sha256), sha256);
        if (t == null) {
            if (java.nio.file.Files.exists(file(sha256))) { // none at all is the usual case (a Unigram tokenizer, a first open)
                log().debug("the compact tokenizer {} is not usable; the tokenizer file is parsed instead", file(sha256));
            }
        } else {
            COUNTS.incrementAndGet(0);
        }
        return t;
    }

    /**
     * Keeps {@code tokenizer}, parsed from content with this digest, for later processes; never
     * fails (a folder that cannot be written only means the next process parses the file again).
     */
    static void put(String sha256, Tokenizer tokenizer) {
        if (sha256 == null || !DigestRecords.on()) {
            return;
        }
        try {
            if (CompactBpe.write(tokenizer, sha256, file(sha256))) {
                COUNTS.incrementAndGet(1);
            }
        } catch (IOException | RuntimeException e) {
            log().debug("the compact form of tokenizer {} was not written ({})", sha256, e.toString());
        }
    }
}
