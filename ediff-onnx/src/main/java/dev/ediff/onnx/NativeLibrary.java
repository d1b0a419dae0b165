package dev.ediff.onnx;

import ai.onnxruntime.OrtEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
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
 */
public final class NativeLibrary {

    private static final Logger LOG = LoggerFactory.getLogger(NativeLibrary.class);
    /** ONNX Runtime's system property naming a folder that holds its native libraries. */
    public static final String PATH_PROPERTY = "onnxruntime.native.path";
    /** The system property naming the SDK's cache root. */
    public static final String CACHE_PROPERTY = "ediff.cache.dir";
    private static final String[] LIBRARIES = {"onnxruntime", "onnxruntime4j_jni", "onnxruntime_providers_shared",
        "onnxruntime_providers_cuda", "onnxruntime_providers_tensorrt", "onnxruntime_providers_dnnl",
        "onnxruntime_providers_openvino", "onnxruntime_providers_rocm"};
    private static volatile boolean prepared;

    private NativeLibrary() {
    }

    /**
     * ONNX Runtime's environment, after pointing its loader at the cache folder (once per JVM).
     *
     * @return the process-wide ONNX Runtime environment
     */
    public static OrtEnvironment environment() {
        prepare();
        return OrtEnvironment.getEnvironment();
    }

    /** Unpacks the libraries into the cache folder if needed and sets {@value #PATH_PROPERTY}. Idempotent. */
    public static synchronized void prepare() {
        if (prepared) {
            return;
        }
        prepared = true;
        if (System.getProperty(PATH_PROPERTY) != null || System.getProperty("ORT_LOAD_FROM_LIBRARY_PATH") != null) {
            return;
        }
        try {
            Path folder = unpack();
            if (folder != null) {
                System.setProperty(PATH_PROPERTY, folder.toString());
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("ONNX Runtime's native libraries are not cached ({}); ONNX Runtime unpacks them itself", e.toString());
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
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return folder;
    }
}
