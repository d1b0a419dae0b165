package dev.ediff.model.mini;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module descriptors work: with ediff-onnx and its dependencies on the module path (and the
 * model on the classpath, as an application that is not modular would have it), the
 * {@code ModelLoader} service is found through {@code uses}/{@code provides}, ONNX Runtime loads
 * its native library from its automatic module, and the default model generates.
 */
class ModulePathTest {

    @Test
    void openDefaultWorksWithTheLibraryOnTheModulePath() throws Exception {
        List<String> modulePath = new ArrayList<>();
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            boolean testOnly = entry.contains("junit") || entry.contains("opentest4j") || entry.contains("apiguardian")
                    || entry.contains("quicktheories") || entry.contains("surefire");
            if (testOnly) {
                continue;
            }
            // this module's own folders hold no module descriptor: they stay on the classpath
            if (Files.isDirectory(p) && !Files.isRegularFile(p.resolve("module-info.class"))) {
                classPath.add(entry);
            } else {
                modulePath.add(entry);
            }
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // the build's optimized-graph cache folder, never the user's
        String graphCache = System.getProperty("ediff.graphCache.dir") != null
                ? "-Dediff.graphCache.dir=" + System.getProperty("ediff.graphCache.dir") : "-Dediff.graphCache=false";
        List<String> command = List.of(java.toString(), graphCache, "--module-path", String.join(File.pathSeparator, modulePath),
                "--add-modules", "dev.ediff.onnx", "-cp", String.join(File.pathSeparator, classPath),
                ModulePathMain.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, p.exitValue(), () -> "child JVM failed:\n" + out + "\ncommand: " + command);
        assertTrue(out.contains("module dev.ediff.core"), () -> "EDiff was not loaded as a named module:\n" + out);
        assertTrue(out.contains("shape [1, 3, 32, 32]"), () -> "no image:\n" + out);
    }
}
