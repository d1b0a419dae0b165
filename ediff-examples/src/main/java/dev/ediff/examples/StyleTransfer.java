package dev.ediff.examples;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;

import java.nio.file.Path;

/**
 * Takes the style (background pattern and tint) of a reference image: its image embedding is a
 * condition with its own guidance scale. Usage: {@code StyleTransfer reference.png [strength]}.
 */
public final class StyleTransfer {

    private StyleTransfer() {
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: StyleTransfer reference.png [strength]");
            System.exit(2);
        }
        double strength = args.length > 1 ? Double.parseDouble(args[1]) : 2.0;
        try (EDiff ediff = EDiff.openDefault()) {
            var g = ediff.generate(Request.prompt("a big white circle in the center").seed(3).guidance(3.0)
                    .style(Path.of(args[0]), strength).build());
            PngFiles.write(Path.of("style.png"), Images.toImage(g.sample(0)), g.parameters(), true);
            System.out.println("style.png");
        }
    }
}
