package dev.ediff.onnx.internal;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ediff.core.cache.CacheFiles;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.SessionConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * A per-user cache of the graphs ONNX Runtime optimized: the first CPU session of a model saves
 * its optimized graph ({@code SessionOptions.setOptimizedModelFilePath}), later ones open that
 * graph with optimization off, which skips most of session creation's graph work (measured in
 * {@code docs/PERFORMANCE.md}, "Session 5").
 *
 * <p>An entry is one file in {@code <cache root>/graphs/} (the root is {@link NativeLibrary}'s:
 * {@code ediff.cache.dir}, else {@code $XDG_CACHE_HOME/ediff}, else {@code ~/.cache/ediff}; the
 * system property {@value #DIR_PROPERTY} names another folder), named
 * {@code <key>-<length>-<crc32c>.onnx} (or {@code .ort}, see {@link #FORMAT_PROPERTY}): the key is a hash of the model's sha256 (given by the
 * caller, who verified it), the loaded ONNX Runtime engine's version ({@link NativeLibrary#engineVersion()}), the session options that reach ONNX Runtime,
 * and the CPU (model name and flags from {@code /proc/cpuinfo}, the OS and architecture), since a
 * graph optimized at the full level may hold rewrites for this CPU's instruction set. The length
 * and checksum in the name reject a truncated or damaged file. Entries are written under a
 * temporary name and renamed into place.
 *
 * <p>With {@code -D}{@value #FORMAT_PROPERTY}{@code =ort} entries are in ONNX Runtime's ORT format,
 * mapped, and ONNX Runtime builds the session on the mapped bytes themselves
 * ({@code session.use_ort_model_bytes_directly} and {@code session.use_ort_model_bytes_for_initializers}):
 * no copy of the graph or of its weights is made, so the mapping belongs to the session and is
 * released after it ({@link Created#graph()}, {@link SessionOpener#close}). That opens sessions
 * faster but they run a few percent slower (the weights are used where they lie in the file), so it
 * suits start-up-bound processes: the CLI's {@code generate} turns it on; the library's default is
 * the ONNX format. Measured in {@code docs/PERFORMANCE.md} ("Session 6").
 *
 * <p>Any failure (a damaged entry, ONNX Runtime refusing it, a folder that cannot be written)
 * falls back to opening the model as if there were no cache: a damaged or refused entry is deleted
 * with one warning; the rest is logged at debug level. Off with {@code -D}{@value #PROPERTY}{@code =false}
 * or {@link SessionConfig#graphCache()}. Only CPU sessions of models without external data are
 * cached (the caller gives no digest for the latter).
 */
public final class GraphCache {

    /**
     * Looked up when something is logged (only on failures and at debug level): a load that logs
     * nothing does not pay for SLF4J's start-up, about 40 ms of a fresh JVM's class loading.
     */
    private static Logger log() {
        return LoggerFactory.getLogger(GraphCache.class);
    }
    /** The system property that turns the cache off ({@code false}). */
    public static final String PROPERTY = "ediff.graphCache";
    /** The system property naming the cache folder (tests use a temporary one). */
    public static final String DIR_PROPERTY = "ediff.graphCache.dir";

    /**
     * The system property choosing the entries' format: {@code onnx} (the default: ONNX Runtime
     * copies the graph into the session) or {@code ort} (the session reads the mapped entry in place:
     * faster to open, a few percent slower to run).
     */
    public static final String FORMAT_PROPERTY = "ediff.graphCache.format";

    private static final String CPU = cpu();

    /** Sessions opened from an entry, entries written, entries rejected (deleted): for tests. */
    private static final java.util.concurrent.atomic.AtomicLongArray COUNTS = new java.util.concurrent.atomic.AtomicLongArray(3);

    private GraphCache() {
    }

    /**
     * What the cache did in this process so far (tests): sessions opened from an entry, entries
     * written, entries rejected (damaged or refused by ONNX Runtime, and deleted).
     *
     * @return {@code {hits, writes, rejected}}
     */
    public static long[] counts() {
        return new long[] {COUNTS.get(0), COUNTS.get(1), COUNTS.get(2)};
    }

    /**
     * The cache folder.
     *
     * @return {@value #DIR_PROPERTY} if set, else {@code graphs} under the SDK's cache root
     */
    public static Path folder() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        return NativeLibrary.cacheRoot().resolve("graphs");
    }

    /**
     * Whether a session with this configuration and digest may use the cache.
     *
     * @param config the configuration
     * @param sha256 the model's digest, or null
     * @return true if the cache is on for it
     */
    public static boolean applies(SessionConfig config, String sha256) {
        return sha256 != null && config.graphCache()
                && !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true").trim());
    }

    /**
     * Creates a CPU session through the cache: from the entry if there is a sound one, else from
     * the model (saving its optimized graph). Never fails because of the cache.
     *
     * @param env    the environment
     * @param model  the model's name, for messages
     * @param loader creates the session from the original model
     * @param config the configuration
     * @param sha256 the model's verified digest
     * @return the session and the options it was created with (the caller owns both)
     * @throws OrtException when the original model cannot be loaded either
     */
    static Created open(OrtEnvironment env, String model, SessionOpener.Loader loader, SessionConfig config,
                        String sha256) throws OrtException {
        Path dir = folder();
        boolean ort = ortFormat();
        String ext = ort ? ".ort" : ".onnx";
        String key = key(NativeLibrary.engineVersion(), config, sha256, ort);
        Path entry = find(dir, key, ext);
        if (entry != null) {
            // Mapped, not read onto the heap: in a fresh JVM, reading the default model's 29 MB of
            // graphs into arrays cost ~170 ms of CPU, most of what the cache saves.
            ByteBuffer graph = map(entry, ext);
            if (graph != null) {
                OrtSession.SessionOptions options = SessionOpener.baseOptions(config);
                boolean kept = false;
                try {
                    options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
                    if (ort) {
                        // The session reads the mapped bytes for as long as it lives (no copy of the
                        // graph or of its weights): the mapping is the session's, freed after it.
                        options.addConfigEntry("session.load_model_format", "ORT");
                        options.addConfigEntry("session.use_ort_model_bytes_directly", "1");
                        options.addConfigEntry("session.use_ort_model_bytes_for_initializers", "1");
                    }
                    OrtSession s = env.createSession(graph, options);
                    COUNTS.incrementAndGet(0);
                    kept = ort;
                    return new Created(s, options, ort ? graph : null);
                } catch (OrtException | RuntimeException e) {
                    options.close();
                    log().warn("{}: the cached optimized graph {} was refused by ONNX Runtime ({}); deleted, opening the"
                            + " model itself", model, entry, e.getMessage());
                } finally {
                    if (!kept) {
                        DirectMemory.free(graph); // an ONNX-format session keeps its own copy
                    }
                }
            } else {
                log().warn("{}: the cached optimized graph {} is damaged (length or checksum); deleted, opening the model"
                        + " itself", model, entry);
            }
            deleteQuietly(entry);
            COUNTS.incrementAndGet(2);
        }
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            if (Files.isWritable(dir)) {
                removeStaleParts(dir);
                tmp = Files.createTempFile(dir, key + ".", ".part");
            }
        } catch (IOException | RuntimeException e) {
            log().debug("{}: optimized graphs are not cached: {} cannot be written ({})", model, dir, e.toString());
            tmp = null;
        }
        if (tmp == null) {
            return plain(env, loader, config);
        }
        OrtSession.SessionOptions options = SessionOpener.baseOptions(config);
        OrtSession session;
        try {
            options.setOptimizedModelFilePath(tmp.toString());
            options.addConfigEntry("session.save_model_format", ort ? "ORT" : "ONNX");
            // ONNX Runtime warns, once per model, that a graph saved at the full level may only suit this
            // machine: the entry's key holds the CPU, so the warning is not passed on to the user.
            options.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            session = loader.load(env, options);
        } catch (OrtException | RuntimeException e) {
            options.close();
            deleteQuietly(tmp);
            log().debug("{}: saving the optimized graph failed ({}); opening without the cache", model, e.getMessage());
            return plain(env, loader, config);
        }
        try {
            store(tmp, dir, key, ext);
            COUNTS.incrementAndGet(1);
        } catch (IOException | RuntimeException e) {
            log().debug("{}: the optimized graph was not cached ({})", model, e.toString());
        } finally {
            deleteQuietly(tmp);
        }
        return new Created(session, options, null);
    }

    /**
     * A session, its options and the mapped graph it was built on (null when ONNX Runtime made its
     * own copy): the caller owns all three and frees the graph after closing the session.
     */
    record Created(OrtSession session, OrtSession.SessionOptions options, ByteBuffer graph) {
    }

    /** Whether entries are in the ORT format ({@value #FORMAT_PROPERTY}, default {@code onnx}). */
    static boolean ortFormat() {
        String f = System.getProperty(FORMAT_PROPERTY, "onnx").trim();
        if (f.equalsIgnoreCase("ort")) {
            return true;
        }
        if (!f.equalsIgnoreCase("onnx")) {
            log().warn("-D{}={} is not a graph format; expected onnx or ort; using onnx", FORMAT_PROPERTY, f);
        }
        return false;
    }

    private static Created plain(OrtEnvironment env, SessionOpener.Loader loader, SessionConfig config)
            throws OrtException {
        OrtSession.SessionOptions options = SessionOpener.baseOptions(config);
        try {
            return new Created(loader.load(env, options), options, null);
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    /** Checksums the written graph, syncs it and renames it to its entry name; removes older entries of the key. */
    private static void store(Path tmp, Path dir, String key, String ext) throws IOException {
        long size = Files.size(tmp);
        if (size == 0) {
            throw new IOException("ONNX Runtime wrote an empty optimized graph");
        }
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (ch.read(buf) > 0 || buf.position() > 0) {
                buf.flip();
                crc.update(buf);
                buf.clear();
            }
            ch.force(true);
        }
        Path target = dir.resolve(key + "-" + size + "-" + String.format(Locale.ROOT, "%08x", crc.getValue()) + ext);
        Path old = find(dir, key, ext);
        CacheFiles.moveIntoPlace(tmp, target);
        if (old != null && !old.equals(target)) {
            deleteQuietly(old);
        }
    }

    /**
     * Deletes temporary files a killed process left (older than an hour: a write in progress
     * takes seconds).
     */
    private static void removeStaleParts(Path dir) {
        long before = System.currentTimeMillis() - 3_600_000L;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.part")) {
            for (Path p : s) {
                if (Files.getLastModifiedTime(p).toMillis() < before) {
                    deleteQuietly(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            log().debug("the optimized-graph cache {} cannot be listed ({})", dir, e.toString());
        }
    }

    /** The entry of {@code key}, or null. */
    private static Path find(Path dir, String key, String ext) {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, key + "-*" + ext)) {
            for (Path p : s) {
                return p;
            }
        } catch (IOException | RuntimeException e) {
            log().debug("the optimized-graph cache {} cannot be listed ({})", dir, e.toString());
        }
        return null;
    }

    /**
     * The entry mapped into memory if its length and checksum match its name (the caller frees
     * it), else null. The mapping is read only; an entry is never written after its rename.
     */
    private static ByteBuffer map(Path entry, String ext) {
        String name = entry.getFileName().toString();
        String[] parts = name.substring(0, name.length() - ext.length()).split("-");
        ByteBuffer mapped = null;
        try {
            long size = Long.parseLong(parts[parts.length - 2]);
            long expected = Long.parseLong(parts[parts.length - 1], 16);
            try (FileChannel ch = FileChannel.open(entry, StandardOpenOption.READ)) {
                if (ch.size() != size || size <= 0 || size >= Integer.MAX_VALUE) {
                    return null;
                }
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            }
            CRC32C crc = new CRC32C();
            crc.update(mapped.duplicate());
            if (crc.getValue() == expected) {
                return mapped;
            }
        } catch (IOException | RuntimeException e) {
            log().debug("could not read {} ({})", entry, e.toString());
        }
        if (mapped != null) {
            DirectMemory.free(mapped);
        }
        return null;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            log().debug("could not delete {} ({})", p, e.toString());
        }
    }

    /**
     * The entry key: what the optimized graph depends on. {@code engineVersion} is the loaded
     * engine's version ({@link NativeLibrary#engineVersion()}: the engine named by
     * {@code ediff.onnxruntime.library} when one is, not the Java binding's, which is all
     * {@link OrtEnvironment#getVersion()} tells), so an entry written by one ONNX Runtime release is
     * never opened by another (ORT-format files are release-specific).
     */
    static String key(String engineVersion, SessionConfig config, String sha256, boolean ort) {
        String what = String.join("\n", List.of(ort ? "ediff-graph-cache 3 ort" : "ediff-graph-cache 2",
                sha256.toLowerCase(Locale.ROOT),
                "ort " + engineVersion, "level ALL_OPT", "provider cpu",
                "intra " + config.effectiveIntraOpThreads(), "inter " + config.interOpThreads(),
                "mode " + config.executionMode(), "arena " + config.cpuArena(), "pattern " + config.memoryPattern(),
                "spin " + config.spinning(), CPU));
        return CacheNames.of(what);
    }

    /** The CPU's description: OS, architecture, and on Linux the first processor's model and flags. */
    private static String cpu() {
        StringBuilder b = new StringBuilder(System.getProperty("os.name", "?")).append(' ')
                .append(System.getProperty("os.arch", "?"));
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (line.isBlank() && b.indexOf("\nflags") >= 0) {
                    break; // the first processor is enough
                }
                if (colon < 0) {
                    continue;
                }
                String k = line.substring(0, colon).trim();
                if (k.equals("vendor_id") || k.equals("model name") || k.equals("flags") || k.equals("Features")
                        || k.equals("CPU implementer") || k.equals("CPU part") || k.equals("isa")) {
                    b.append('\n').append(k).append(' ').append(line.substring(colon + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            b.append("\nno /proc/cpuinfo; processors ").append(Runtime.getRuntime().availableProcessors());
        }
        return b.toString();
    }
}
