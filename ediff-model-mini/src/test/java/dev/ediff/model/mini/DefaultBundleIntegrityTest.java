package dev.ediff.model.mini;

import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default bundle's manifest carries a SHA-256 digest for every file it ships, each matching the
 * file as packaged on the classpath, and the SDK's own check ({@code info --check}) passes.
 */
class DefaultBundleIntegrityTest {

    static final Path SOURCE = Path.of("src/main/resources", ModelBundle.DEFAULT_CLASSPATH_ROOT);

    @Test
    void everyFileOfTheDefaultBundleHasAMatchingDigest() throws Exception {
        Manifest m = ModelBundle.defaultManifest().orElseThrow();
        Set<String> files;
        try (Stream<Path> s = Files.walk(SOURCE)) {
            files = s.filter(Files::isRegularFile).map(p -> SOURCE.relativize(p).toString().replace('\\', '/'))
                    .filter(f -> !f.equals(Manifest.FILE)).collect(Collectors.toCollection(TreeSet::new));
        }
        // encoders, tokenizers, base experts and SR: a walk that finds fewer is looking in the wrong place
        assertTrue(files.size() >= 5, "the bundle's files: " + files);
        assertEquals(files, new TreeSet<>(m.sha256().keySet()), "a digest for every file, and no other");
        for (Map.Entry<String, String> e : m.sha256().entrySet()) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            try (InputStream in = getClass().getClassLoader()
                    .getResourceAsStream(ModelBundle.DEFAULT_CLASSPATH_ROOT + "/" + e.getKey())) {
                assertTrue(in != null, e.getKey() + " is on the classpath");
                d.update(in.readAllBytes());
            }
            assertEquals(e.getValue(), HexFormat.of().formatHex(d.digest()), e.getKey());
        }
    }

    @Test
    void theSdkCheckOfTheDefaultBundlePasses() {
        String summary = ModelBundle.checkDefault();
        assertTrue(summary.contains(ModelBundle.defaultManifest().orElseThrow().sha256().size() + " file(s) matched"),
                summary);
    }
}
