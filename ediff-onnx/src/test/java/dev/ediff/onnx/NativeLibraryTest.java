package dev.ediff.onnx;

import ai.onnxruntime.OrtEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ONNX Runtime's native library is unpacked once into the cache folder and reused, and no
 * temporary folder is left behind. Each case starts a fresh JVM (the library loads once per JVM).
 */
class NativeLibraryTest {

    /** The child JVM: opens ONNX Runtime through the SDK and prints where its libraries came from. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            OrtEnvironment env;
            try {
                env = NativeLibrary.environment();
            } catch (dev.ediff.api.EDiffException e) {
                System.out.println("error=" + e.getMessage());
                System.exit(3);
                return;
            }
            System.out.println("path=" + System.getProperty(NativeLibrary.PATH_PROPERTY));
            System.out.println("version=" + env.getVersion());
            System.out.println("engineVersion=" + NativeLibrary.engineVersion());
            try (var options = new ai.onnxruntime.OrtSession.SessionOptions()) {
                options.setIntraOpNumThreads(1); // a call through the C API into the engine
            }
            Path maps = Path.of("/proc/self/maps");
            if (Files.isReadable(maps)) {
                try (Stream<String> lines = Files.lines(maps)) {
                    lines.map(l -> l.substring(l.lastIndexOf(' ') + 1)).filter(f -> f.endsWith("/libonnxruntime.so")
                            || f.contains("/libonnxruntime.so.")).distinct().forEach(f -> System.out.println("engine=" + f));
                }
            }
        }
    }

    private static List<String> child(Path tmp, Path cache, String... extra) throws IOException, InterruptedException {
        return child(0, tmp, cache, extra);
    }

    private static List<String> child(int exit, Path tmp, Path cache, String... extra) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + tmp, "-D" + NativeLibrary.CACHE_PROPERTY + "=" + cache));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("-cp", classPath(), Child.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(exit, p.waitFor(), out);
        // only the child's own lines: a logging backend's notes on stderr depend on the class path
        return out.lines().filter(l -> l.startsWith("path=") || l.startsWith("version=") || l.startsWith("engineVersion=") || l.startsWith("error=")
                || l.startsWith("engine=")).toList();
    }

    private static byte[] bundled(String name) throws IOException {
        try (var in = OrtEnvironment.class.getClassLoader().getResourceAsStream(
                "ai/onnxruntime/native/" + NativeLibrary.platform() + "/" + System.mapLibraryName(name))) {
            return in.readAllBytes();
        }
    }

    /** This JVM's class path and module path as one class path (surefire puts a module's classes on the module path). */
    private static String classPath() {
        List<String> parts = new ArrayList<>();
        for (String key : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(key);
            if (v != null && !v.isEmpty()) {
                parts.add(v);
            }
        }
        return String.join(java.io.File.pathSeparator, parts);
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void unpacksOnceIntoTheCacheAndLeavesNoTemporaryFolder(@TempDir Path tmp, @TempDir Path cache) throws Exception {
        List<String> first = child(tmp, cache);
        List<Path> folders = list(cache);
        assertEquals(1, folders.size(), "one folder per library version: " + folders);
        Path folder = folders.get(0);
        assertTrue(folder.getFileName().toString().startsWith("onnxruntime-" + NativeLibrary.platform() + "-"), folder.toString());
        assertEquals("path=" + folder, first.get(0));
        Path lib = folder.resolve(System.mapLibraryName("onnxruntime"));
        long expected;
        try (var in = OrtEnvironment.class.getClassLoader().getResourceAsStream(
                "ai/onnxruntime/native/" + NativeLibrary.platform() + "/" + System.mapLibraryName("onnxruntime"))) {
            expected = in.readAllBytes().length;
        }
        assertEquals(expected, Files.size(lib));
        assertEquals(List.of(), list(tmp), "nothing left in java.io.tmpdir");
        assertTrue(list(folder).stream().noneMatch(f -> f.toString().endsWith(".part")), list(folder).toString());

        // a second start reuses the files as they are
        FileTime stamp = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(lib, stamp);
        assertEquals(first, child(tmp, cache));
        assertEquals(stamp, Files.getLastModifiedTime(lib));
        assertEquals(List.of(), list(tmp));

        // a truncated library (a copy interrupted by something other than this code) is replaced
        Files.write(lib, new byte[10]);
        assertEquals(first, child(tmp, cache));
        assertEquals(expected, Files.size(lib));
    }

    @Test
    void aNativePathTheUserChoseIsLeftAlone(@TempDir Path tmp, @TempDir Path cache) throws Exception {
        Path mine = Files.createDirectory(tmp.resolve("mine"));
        for (String name : List.of("onnxruntime", "onnxruntime4j_jni")) {
            try (var in = OrtEnvironment.class.getClassLoader().getResourceAsStream(
                    "ai/onnxruntime/native/" + NativeLibrary.platform() + "/" + System.mapLibraryName(name))) {
                Files.copy(in, mine.resolve(System.mapLibraryName(name)));
            }
        }
        List<String> out = child(tmp, cache, "-D" + NativeLibrary.PATH_PROPERTY + "=" + mine);
        assertEquals("path=" + mine, out.get(0));
        assertEquals(List.of(), list(cache));
    }

    @Test
    void anEngineLibraryTheUserNamesIsLoadedUnderTheBinding(@TempDir Path root) throws Exception {
        assumeTrue(NativeLibrary.platform().startsWith("linux-"), "the engine setting is Linux only");
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        Path cache = Files.createDirectory(root.resolve("cache"));
        // the bundled engine under another name stands in for a newer one (same C API, same symbol versions)
        byte[] bundledEngine = bundled("onnxruntime");
        int[] v = ElfVersions.onnxRuntimeVersion(ElfVersions.defined(java.nio.ByteBuffer.wrap(bundledEngine), "engine"));
        String version = v[0] + "." + v[1] + "." + v[2];
        Path engine = Files.write(Files.createDirectory(root.resolve("engine")).resolve("libonnxruntime.so." + version),
                bundledEngine);
        String setting = "-D" + NativeLibrary.ENGINE_PROPERTY + "=" + engine;
        List<String> out = child(tmp, cache, setting);
        List<Path> folders = list(cache);
        assertEquals(1, folders.size(), folders.toString());
        assertTrue(folders.get(0).getFileName().toString().startsWith("onnxruntime-" + NativeLibrary.platform()
                + "-engine-" + version + "-"), folders.toString());
        assertEquals("path=" + folders.get(0), out.get(0));
        // the process mapped the named file, not the bundled engine
        assertEquals(List.of("engine=" + engine.toRealPath()), out.stream().filter(l -> l.startsWith("engine=")).toList());
        assertEquals(List.of(), list(tmp));
    }

    @Test
    void anEngineSettingThatCannotWorkIsOneClearError(@TempDir Path tmp, @TempDir Path cache) throws Exception {
        assumeTrue(NativeLibrary.platform().startsWith("linux-"), "the engine setting is Linux only");
        String missing = child(3, tmp, cache, "-D" + NativeLibrary.ENGINE_PROPERTY + "=" + tmp.resolve("nope.so")).get(0);
        assertTrue(missing.contains(NativeLibrary.ENGINE_PROPERTY) && missing.contains("nope.so")
                && missing.contains("not a file"), missing);
        Path text = Files.writeString(tmp.resolve("libonnxruntime.so"), "not a library");
        String foreign = child(3, tmp, cache, "-D" + NativeLibrary.ENGINE_PROPERTY + "=" + text).get(0);
        assertTrue(foreign.contains("not an ELF shared library") && foreign.contains("binding's version or newer"), foreign);
        Path jni = Files.write(tmp.resolve("libother.so"), bundled("onnxruntime4j_jni")); // an ELF library, no VERS_ version
        String notOrt = child(3, tmp, cache, "-D" + NativeLibrary.ENGINE_PROPERTY + "=" + jni).get(0);
        assertTrue(notOrt.contains("not an ONNX Runtime engine library"), notOrt);
        String both = child(3, tmp, cache, "-D" + NativeLibrary.ENGINE_PROPERTY + "=" + jni,
                "-D" + NativeLibrary.PATH_PROPERTY + "=" + tmp).get(0);
        assertTrue(both.contains("both set"), both);
    }

    @Test
    void theJniLibrarysEngineReferencesBecomeUnversioned() throws Exception {
        assumeTrue(NativeLibrary.platform().startsWith("linux-"), "ELF libraries");
        byte[] engine = bundled("onnxruntime");
        int[] version = ElfVersions.onnxRuntimeVersion(ElfVersions.defined(java.nio.ByteBuffer.wrap(engine), "engine"));
        assertEquals(1, version[0]);
        assertTrue(version[1] >= 28, java.util.Arrays.toString(version));
        byte[] jni = bundled("onnxruntime4j_jni");
        byte[] before = jni.clone();
        List<String> required = ElfVersions.unversion(jni, "jni");
        assertEquals(List.of("VERS_" + version[0] + "." + version[1] + "." + version[2]), required);
        assertEquals(before.length, jni.length);
        assertTrue(!java.util.Arrays.equals(before, jni));
        assertEquals(List.of(), ElfVersions.unversion(jni, "jni"), "nothing versioned is left");
        // a second library's tables are untouched
        assertEquals(List.of(), ElfVersions.unversion(engine.clone(), "engine"));
    }

    @Test
    void theEngineVersionIsTheLoadedEnginesNotTheBindings(@TempDir Path root) throws Exception {
        assumeTrue(NativeLibrary.platform().startsWith("linux-"), "the engine setting is Linux only");
        Path tmp = Files.createDirectory(root.resolve("tmp"));
        Path cache = Files.createDirectory(root.resolve("cache"));
        List<String> plain = child(tmp, cache);
        String binding = plain.stream().filter(l -> l.startsWith("version=")).findFirst().orElseThrow().substring(8);
        assertTrue(plain.contains("engineVersion=" + binding), plain.toString());
        // the bundled engine with its symbol version renamed from VERS_1.x.y to VERS_1.x.9 stands in for
        // a newer release of the same C API: the binding still says 1.x.y, the engine must say 1.x.9
        byte[] engine = bundled("onnxruntime");
        byte[] from = ("VERS_" + binding).getBytes(StandardCharsets.US_ASCII);
        String newer = binding.substring(0, binding.lastIndexOf('.') + 1) + "9";
        assumeTrue(newer.length() == binding.length() && !newer.equals(binding), "a same-length newer version of " + binding);
        int at = indexOf(engine, from, 0);
        assertTrue(at >= 0 && indexOf(engine, from, at + 1) < 0, "one VERS_" + binding + " string in the engine");
        System.arraycopy(("VERS_" + newer).getBytes(StandardCharsets.US_ASCII), 0, engine, at, from.length);
        Path renamed = Files.write(Files.createDirectory(root.resolve("engine")).resolve("libonnxruntime.so." + newer), engine);
        Path cache2 = Files.createDirectory(root.resolve("cache2"));
        List<String> out = child(tmp, cache2, "-D" + NativeLibrary.ENGINE_PROPERTY + "=" + renamed);
        assertTrue(out.contains("version=" + binding), out.toString());
        assertTrue(out.contains("engineVersion=" + newer), out.toString());
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
