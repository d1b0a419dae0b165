package dev.ediff.onnx;

import ai.onnxruntime.OrtEnvironment;
import dev.ediff.api.EDiffException;
import dev.ediff.core.cache.CacheFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where ONNX Runtime's native libraries are loaded from. Left alone, ONNX Runtime's Java loader
 * unpacks its 28.5 MB library from the jar into a new temporary folder on every start (and a killed
 * process leaves that folder behind). Before ONNX Runtime is first used, the SDK unpacks the
 * libraries once into a cache folder named after their checksum, e.g.
 * {@code ~/.cache/ediff/onnxruntime-linux-x64-1a2b3c4d/}, and points ONNX Runtime's
 * {@code onnxruntime.native.path} at it; later starts reuse the folder. Files are written under a
 * temporary name and renamed into place, so concurrent first starts and killed ones never leave a
 * half-written library.
 *
 * <p>Nothing is changed when the user already chose: the system property
 * {@code onnxruntime.native.path}, or {@code ORT_LOAD_FROM_LIBRARY_PATH}. The cache root is
 * {@code ediff.cache.dir}, else {@code $XDG_CACHE_HOME/ediff}, else {@code ~/.cache/ediff}. If the
 * folder cannot be written, ONNX Runtime's own loading is used, with a debug log line saying why.
 *
 * <p><b>A newer engine (opt-in, Linux).</b> The system property {@value #ENGINE_PROPERTY} (or the
 * environment variable {@value #ENGINE_ENV}) names an ONNX Runtime native library
 * ({@code libonnxruntime.so.1.x.y}) of the Java binding's version or newer, e.g. the one a Python
 * {@code onnxruntime} wheel ships in {@code onnxruntime/capi/}. The SDK then loads that engine under
 * the Java binding it was built with (the C API is versioned, so a newer engine serves an older
 * binding): it makes a cache folder holding a link to the engine and a copy of the binding's JNI
 * library whose references to the engine are unversioned (the JNI library asks for
 * {@code OrtGetApiBase@VERS_1.28.0}, which a 1.30 engine defines as {@code VERS_1.30.0}; see
 * {@code ElfVersions}). Only the CPU provider is available then. A missing file, a file that is
 * not an ONNX Runtime library, an older engine or another platform is one clear error from
 * {@link #environment()}. Unset (the default), the engine of the Maven artifact is used.
 *
 * <p><b>One start, on a large stack.</b> {@link #environment()} is the one place where ONNX Runtime's
 * native libraries are first loaded and its environment created, on a short-lived thread whose
 * stack grows with the process's command line ({@link #initStackSize(long)}): ONNX Runtime 1.29 and
 * later overflow a default thread stack there when the command line is longer than about 4 KB
 * (docs/onnxruntime-1.29-long-cmdline.md). Everything after the start runs on the callers' threads.
 */
public final class NativeLibrary {

    /**
     * Looked up when something is logged (only on failures and at debug level): a load that logs
     * nothing does not pay for SLF4J's start-up, about 40 ms of a fresh JVM's class loading.
     */
    private static Logger log() {
        return LoggerFactory.getLogger(NativeLibrary.class);
    }
    /** ONNX Runtime's system property naming a folder that holds its native libraries. */
    public static final String PATH_PROPERTY = "onnxruntime.native.path";
    /** The system property naming the SDK's cache root. */
    public static final String CACHE_PROPERTY = "ediff.cache.dir";
    /** The system property naming a newer ONNX Runtime engine library to load (opt-in; see the class comment). */
    public static final String ENGINE_PROPERTY = "ediff.onnxruntime.library";
    /** The environment variable naming a newer ONNX Runtime engine library, when {@value #ENGINE_PROPERTY} is unset. */
    public static final String ENGINE_ENV = "EDIFF_ONNXRUNTIME_LIBRARY";
    /**
     * The system property that leaves ONNX Runtime's telemetry as the engine starts it ({@code true});
     * unset or anything else, the SDK turns telemetry events off right after the environment is created.
     */
    public static final String TELEMETRY_PROPERTY = "ediff.onnxruntime.telemetry";
    private static final String[] LIBRARIES = {"onnxruntime", "onnxruntime4j_jni", "onnxruntime_providers_shared",
        "onnxruntime_providers_cuda", "onnxruntime_providers_tensorrt", "onnxruntime_providers_dnnl",
        "onnxruntime_providers_openvino", "onnxruntime_providers_rocm"};
    private static final long MIB = 1L << 20;
    private static final long MIN_INIT_STACK = 32 * MIB;
    private static final long INIT_STACK_PER_BYTE = 512;
    private static volatile boolean prepared;
    private static volatile OrtEnvironment environment; // set once the first start succeeded
    private static volatile String engineVersion; // the loaded engine's version, once asked
    private static volatile EDiffException engineError; // the opt-in engine could not be prepared

    private NativeLibrary() {
    }

    /**
     * ONNX Runtime's environment, after pointing its loader at the cache folder (once per JVM). The
     * first call loads the native libraries and creates the environment on a thread of its own with
     * a large stack, and waits for it (see {@link #initStackSize(long)}); later calls return the same
     * environment at once. Every part of the SDK that uses ONNX Runtime comes through here first.
     *
     * @return the process-wide ONNX Runtime environment
     * @throws EDiffException when the engine named by {@value #ENGINE_PROPERTY} cannot be used
     */
    public static OrtEnvironment environment() {
        OrtEnvironment env = environment;
        return env != null ? env : start();
    }

    /**
     * The execution providers ONNX Runtime offers, read after {@link #environment()} so the
     * libraries are loaded from where this class points (the cache folder or the opt-in engine).
     *
     * @return the providers of the loaded ONNX Runtime
     * @throws EDiffException when the engine named by {@value #ENGINE_PROPERTY} cannot be used
     */
    public static java.util.EnumSet<ai.onnxruntime.OrtProvider> availableProviders() {
        environment();
        return OrtEnvironment.getAvailableProviders();
    }

    /**
     * The version of the ONNX Runtime engine that is loaded, e.g. {@code 1.30.0} when
     * {@value #ENGINE_PROPERTY} names a 1.30 engine under the 1.29 binding.
     * {@link OrtEnvironment#getVersion()} gives the Java binding's version whatever engine serves
     * it, so what depends on the engine (the graph cache's entries) uses this instead. On Linux it is
     * the newest {@code VERS_x.y.z} the mapped {@code libonnxruntime.so*} defines; where that cannot
     * be read (another OS, a library ONNX Runtime unpacked and deleted), the binding's version.
     *
     * @return the engine's version, as {@code major.minor.patch}
     * @throws EDiffException when the engine named by {@value #ENGINE_PROPERTY} cannot be used
     */
    public static String engineVersion() {
        OrtEnvironment env = environment();
        String v = engineVersion;
        if (v == null) {
            v = mappedEngineVersion();
            engineVersion = v = v != null ? v : env.getVersion();
        }
        return v;
    }

    /** The version the mapped engine library defines, or null when it cannot be read. */
    private static String mappedEngineVersion() {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return null;
        }
        try (java.util.stream.Stream<String> lines = Files.lines(maps)) {
            java.util.Optional<Path> file = lines.map(l -> l.indexOf('/') < 0 ? "" : l.substring(l.indexOf('/')))
                    .filter(f -> f.contains("/libonnxruntime.so") && !f.endsWith(" (deleted)")).map(Path::of)
                    .filter(f -> f.getFileName().toString().startsWith("libonnxruntime.so")).findFirst();
            if (file.isEmpty()) {
                return null;
            }
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file.get())) {
                int[] v = ElfVersions.onnxRuntimeVersion(ElfVersions.defined(
                        ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, ch.size()), file.get().toString()));
                return v == null ? null : dotted(v);
            }
        } catch (IOException | RuntimeException e) {
            log().debug("cannot read the loaded ONNX Runtime engine's version ({}); using the binding's", e.toString());
            return null;
        }
    }

    private static synchronized OrtEnvironment start() {
        if (environment != null) {
            return environment;
        }
        prepare();
        if (engineError != null) {
            throw engineError;
        }
        String engine = engineSetting();
        long stack = initStackSize(commandLineLength());
        OrtEnvironment[] made = new OrtEnvironment[1];
        Throwable[] failed = new Throwable[1];
        Runnable create = () -> {
            try {
                made[0] = OrtEnvironment.getEnvironment();
            } catch (Throwable t) { // handed to the caller below
                failed[0] = t;
            }
        };
        Thread init = new Thread(null, create, "ediff-onnxruntime-init", stack);
        init.setDaemon(true);
        try {
            init.start();
        } catch (OutOfMemoryError e) { // the stack could not be reserved: the caller's thread is all there is
            log().warn("cannot start a thread with a {} MiB stack for ONNX Runtime's start ({}); starting it on {}",
                    stack >> 20, e.getMessage(), Thread.currentThread().getName());
            init = null;
            create.run();
        }
        if (init != null) {
            joinUninterruptibly(init);
        }
        if (failed[0] instanceof LinkageError e && engine != null) {
            throw new EDiffException("ONNX Runtime could not load the engine " + engine + " named by " + ENGINE_PROPERTY
                    + "/" + ENGINE_ENV + " under the Java binding: " + e + "; unset it to use the bundled engine", e);
        }
        if (failed[0] instanceof RuntimeException e) {
            throw e;
        }
        if (failed[0] instanceof Error e) {
            throw e;
        }
        if (failed[0] != null) {
            throw new IllegalStateException("ONNX Runtime's environment could not be created: " + failed[0], failed[0]);
        }
        removeEmptyDebugLog();
        quietTelemetry(made[0]);
        environment = made[0];
        return made[0];
    }

    /**
     * Turns ONNX Runtime's telemetry events off unless {@value #TELEMETRY_PROPERTY} is {@code true}.
     * Engines from 1.29 on (and the opt-in 1.30 engine) start Microsoft's telemetry client on Linux
     * when the environment is created; an SDK embedded in someone else's application should not
     * report on it by default. The events of the start itself are already queued by then: only
     * {@code ORT_DISABLE_TELEMETRY=1} in the process's environment prevents those. On 1.28 (no
     * telemetry on Linux) the call changes nothing.
     */
    private static void quietTelemetry(OrtEnvironment env) {
        if (Boolean.parseBoolean(System.getProperty(TELEMETRY_PROPERTY))) {
            return;
        }
        try {
            env.setTelemetry(false);
        } catch (ai.onnxruntime.OrtException | RuntimeException e) {
            log().debug("cannot turn ONNX Runtime's telemetry off ({})", e.toString());
        }
    }

    /**
     * ONNX Runtime 1.29's telemetry (and the 1.30 engine's) creates an empty
     * {@code /tmp/mat-debug-<pid>.log} in every process that starts an environment, and never removes
     * it. Removed here when it is still empty (this process's file only); anything the engine writes
     * to it later goes to the unlinked file.
     */
    private static void removeEmptyDebugLog() {
        Path log = Path.of("/tmp", "mat-debug-" + ProcessHandle.current().pid() + ".log");
        try {
            if (Files.isRegularFile(log, java.nio.file.LinkOption.NOFOLLOW_LINKS) && Files.size(log) == 0) {
                Files.delete(log);
            }
        } catch (IOException | RuntimeException e) {
            log().debug("cannot remove ONNX Runtime's empty {} ({})", log, e.toString());
        }
    }

    /**
     * The stack for the thread that starts ONNX Runtime. ONNX Runtime 1.29 (and the 1.30 engine)
     * reads {@code /proc/self/cmdline} while creating its environment and matches it with a
     * recursive regular expression whose depth grows with the command line: about 250 bytes of stack
     * per byte of command line (measured: a 4 MiB stack holds 16,000 bytes and overflows at 18,000;
     * the JVM's default 1 MiB overflows at about 4,000). The stack is twice that, 512 bytes per byte,
     * on top of 16 MiB, and at least 32 MiB: 32 MiB up to a 32 KB command line, 67 MiB at 100 KB,
     * about 1 GiB at Linux's usual 2 MB limit for arguments and environment together. It is reserved
     * address space, not memory: only the pages the start touches are ever backed, and the thread
     * ends when the environment exists.
     *
     * @param commandLineBytes the length of {@code /proc/self/cmdline}, 0 when unknown
     * @return the stack size in bytes
     */
    static long initStackSize(long commandLineBytes) {
        return Math.max(MIN_INIT_STACK, 16L * MIB + INIT_STACK_PER_BYTE * Math.max(0, commandLineBytes));
    }

    /** The length of this process's command line as ONNX Runtime reads it, or 0 when it cannot be read (not Linux). */
    static long commandLineLength() {
        Path cmdline = Path.of("/proc/self/cmdline");
        if (!Files.isReadable(cmdline)) {
            return 0;
        }
        try {
            return Files.readAllBytes(cmdline).length; // a proc file reports size 0: read it
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the environment is being made: wait for it, then restore the flag
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The opt-in engine library's path as the user wrote it, or null. */
    static String engineSetting() {
        String p = System.getProperty(ENGINE_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(ENGINE_ENV);
        }
        return p == null || p.isBlank() ? null : p;
    }

    /**
     * Unpacks the libraries into the cache folder if needed and sets {@value #PATH_PROPERTY}. Idempotent.
     *
     * @throws EDiffException when {@value #ENGINE_PROPERTY} (or {@value #ENGINE_ENV}) names a library
     *                        that cannot be used
     */
    public static synchronized void prepare() {
        if (prepared) {
            if (engineError != null) {
                throw engineError;
            }
            return;
        }
        prepared = true;
        String engine = engineSetting();
        boolean chosen = System.getProperty(PATH_PROPERTY) != null || System.getProperty("ORT_LOAD_FROM_LIBRARY_PATH") != null;
        if (engine != null) {
            try {
                if (chosen) {
                    throw new EDiffException(ENGINE_PROPERTY + "/" + ENGINE_ENV + " (" + engine + ") and "
                            + PATH_PROPERTY + " or ORT_LOAD_FROM_LIBRARY_PATH are both set; set one of them");
                }
                System.setProperty(PATH_PROPERTY, engineFolder(Path.of(engine)).toString());
                return;
            } catch (EDiffException e) {
                engineError = e;
                throw e;
            } catch (IOException | RuntimeException e) {
                engineError = new EDiffException("cannot use the ONNX Runtime engine " + engine + " named by "
                        + ENGINE_PROPERTY + "/" + ENGINE_ENV + ": " + e.getMessage()
                        + "; expected a libonnxruntime.so of the Java binding's version or newer, or unset it to use the bundled engine", e);
                throw engineError;
            }
        }
        if (chosen) {
            return;
        }
        try {
            Path folder = unpack();
            if (folder != null) {
                System.setProperty(PATH_PROPERTY, folder.toString());
            }
        } catch (IOException | RuntimeException e) {
            log().debug("ONNX Runtime's native libraries are not cached ({}); ONNX Runtime unpacks them itself", e.toString());
        }
    }

    /** The platform folder name ONNX Runtime's jar uses, e.g. linux-x64. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") || os.contains("darwin") ? "osx"
                : os.contains("win") ? "win" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    /**
     * The SDK's per-user cache root (native libraries, optimized graphs).
     *
     * @return {@value #CACHE_PROPERTY} if set, else {@code $XDG_CACHE_HOME/ediff}, else {@code ~/.cache/ediff}
     */
    public static Path cacheRoot() {
        String explicit = System.getProperty(CACHE_PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "ediff");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "ediff");
    }

    private record Library(String file, URL url, long size, long crc) {
    }

    /**
     * The folder for the opt-in engine: a link to {@code engine} as {@code libonnxruntime.so} and the
     * binding's JNI library with its engine references unversioned.
     */
    private static Path engineFolder(Path engine) throws IOException {
        if (!platform().startsWith("linux-")) {
            throw new EDiffException(ENGINE_PROPERTY + "/" + ENGINE_ENV + " is supported on Linux only, this is "
                    + platform() + "; unset it to use the bundled engine");
        }
        if (!Files.isRegularFile(engine)) {
            throw new EDiffException(ENGINE_PROPERTY + "/" + ENGINE_ENV + " names " + engine + ", which is not a file;"
                    + " expected the path of an ONNX Runtime engine library, e.g. .../onnxruntime/capi/libonnxruntime.so.1.30.0"
                    + " of a Python onnxruntime wheel, or unset it to use the bundled engine");
        }
        Path real = engine.toRealPath();
        long size;
        int[] version;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(real)) {
            size = ch.size(); // mapped, not read: the engine is some 30 MB, and a heap grown for it stays resident
            version = ElfVersions.onnxRuntimeVersion(ElfVersions.defined(
                    ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size), real.toString()));
        }
        if (version == null) {
            throw new IOException(real + " defines no VERS_x.y.z symbol version, so it is not an ONNX Runtime engine library");
        }
        ClassLoader cl = OrtEnvironment.class.getClassLoader();
        String jniFile = System.mapLibraryName("onnxruntime4j_jni");
        URL jniUrl = cl.getResource("ai/onnxruntime/native/" + platform() + "/" + jniFile);
        if (jniUrl == null) {
            throw new IOException("the ONNX Runtime jar on the class path has no " + jniFile + " for " + platform());
        }
        byte[] jni;
        try (InputStream in = jniUrl.openStream()) {
            jni = in.readAllBytes();
        }
        List<String> required = ElfVersions.unversion(jni, jniFile);
        if (required.isEmpty()) {
            throw new IOException(jniFile + " has no versioned reference to libonnxruntime.so, which this SDK does not know how to retarget");
        }
        int[] binding = ElfVersions.onnxRuntimeVersion(required);
        if (binding != null && java.util.Arrays.compare(version, binding) < 0) {
            throw new EDiffException(real + " is ONNX Runtime " + dotted(version) + ", older than the Java binding "
                    + dotted(binding) + "; " + ENGINE_PROPERTY + "/" + ENGINE_ENV + " must name version " + dotted(binding)
                    + " or newer, or be unset to use the bundled engine");
        }
        long key = 17;
        key = key * 31 + real.toString().hashCode();
        key = key * 31 + size;
        key = key * 31 + Files.getLastModifiedTime(real).toMillis();
        key = key * 31 + java.util.Arrays.hashCode(jni);
        Path folder = cacheRoot().resolve("onnxruntime-" + platform() + "-engine-" + dotted(version) + "-" + Long.toHexString(key));
        Files.createDirectories(folder);
        Path jniTarget = folder.resolve(jniFile);
        if (!Files.isRegularFile(jniTarget) || Files.size(jniTarget) != jni.length) {
            Path tmp = Files.createTempFile(folder, jniFile + ".", ".part");
            try {
                Files.write(tmp, jni);
                CacheFiles.moveIntoPlace(tmp, jniTarget);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        Path link = folder.resolve(System.mapLibraryName("onnxruntime"));
        if (!Files.isSymbolicLink(link) || !Files.readSymbolicLink(link).equals(real)) {
            Path tmp = folder.resolve(link.getFileName() + "." + ProcessHandle.current().pid() + ".part");
            Files.deleteIfExists(tmp);
            Files.createSymbolicLink(tmp, real);
            CacheFiles.moveIntoPlace(tmp, link);
        }
        log().debug("ONNX Runtime engine {} ({}) under the Java binding {}, from {}", real, dotted(version),
                binding == null ? "?" : dotted(binding), folder);
        return folder;
    }

    private static String dotted(int[] v) {
        return v[0] + "." + v[1] + "." + v[2];
    }

    private static Path unpack() throws IOException {
        String platform = platform();
        ClassLoader cl = OrtEnvironment.class.getClassLoader();
        List<Library> libs = new ArrayList<>();
        long key = 17;
        for (String name : LIBRARIES) {
            String file = System.mapLibraryName(name);
            URL url = cl.getResource("ai/onnxruntime/native/" + platform + "/" + file);
            if (url == null) {
                continue;
            }
            URLConnection c = url.openConnection();
            c.setUseCaches(false);
            long size = c.getContentLengthLong();
            long crc = c instanceof JarURLConnection j && j.getJarEntry() != null ? j.getJarEntry().getCrc()
                    : c.getLastModified();
            libs.add(new Library(file, url, size, crc));
            key = key * 31 + file.hashCode();
            key = key * 31 + size;
            key = key * 31 + crc;
        }
        if (libs.isEmpty()) {
            return null; // not a jar with bundled libraries: ONNX Runtime finds its own
        }
        Path folder = cacheRoot().resolve("onnxruntime-" + platform + "-" + Long.toHexString(key));
        Files.createDirectories(folder);
        for (Library lib : libs) {
            Path target = folder.resolve(lib.file());
            if (Files.isRegularFile(target) && Files.size(target) == lib.size()) {
                continue;
            }
            Path tmp = Files.createTempFile(folder, lib.file() + ".", ".part");
            try {
                try (InputStream in = lib.url().openStream()) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                if (Files.size(tmp) != lib.size() && lib.size() >= 0) {
                    throw new IOException("unpacked " + Files.size(tmp) + " bytes of " + lib.file() + ", expected " + lib.size());
                }
                CacheFiles.moveIntoPlace(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return folder;
    }
}
