package dev.ediff.examples;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.PngFiles;

import java.nio.file.Path;
import java.util.Map;

/**
 * The child JVM of {@link LongCommandLineTest}: opens the default model, generates the test's one
 * image and writes it to the PNG file given as the only argument. Exits 0 when that worked.
 */
public final class LongCommandLineChild {

    private LongCommandLineChild() {
    }

    /**
     * The request both the child and the test make.
     *
     * @return one image of a fixed prompt and seed
     */
    static Request request() {
        return Request.prompt("a small red circle above a large blue square").seed(7).build();
    }

    public static void main(String[] args) {
        try (EDiff ediff = EDiff.openDefault()) {
            PngFiles.write(Path.of(args[0]), ediff.generate(request()).sample(0).toImage(), Map.of(), true);
        }
        System.out.println("wrote " + args[0]);
    }
}
