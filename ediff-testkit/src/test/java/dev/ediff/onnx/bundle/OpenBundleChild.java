package dev.ediff.onnx.bundle;

import dev.ediff.core.EDiff;

import java.nio.file.Path;

/**
 * The child JVM of {@link EngineDebugLogTest}: opens the bundle folder given as the only argument,
 * prints its stage names and closes it. Exits 0 when that worked.
 */
public final class OpenBundleChild {

    private OpenBundleChild() {
    }

    public static void main(String[] args) {
        try (EDiff ediff = ModelBundle.open(Path.of(args[0]), FixtureBundle.CPU)) {
            System.out.println("opened " + ediff.stages().size() + " stages");
        }
    }
}
