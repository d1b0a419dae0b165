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

/**
 * ONNX Runtime's native library is unpacked once into the cache folder and reused, and no
 * temporary folder is left behind. Each case starts a fresh JVM (the library loads once per JVM).
 */
class NativeLibraryTest {

    /** The child JVM: opens ONNX Runtime through the SDK and prints where its libraries came from. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            OrtEnvironment env = NativeLibrary.environment();
            System.out.println("path=" + System.getProperty(NativeLibrary.PATH_PROPERTY));
            System.out.println("version=" + env.getVersion());
        }
    }

    private static List<String> child(Path tmp, Path cache, String... extra) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + tmp, "-D" + NativeLibrary.CACHE_PROPERTY + "=" + cache));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("-cp", classPath(), Child.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        // only the child's own lines: a logging backend's notes on stderr depend on the class path
        return out.lines().filter(l -> l.startsWith("path=") || l.startsWith("version=")).toList();
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
}
