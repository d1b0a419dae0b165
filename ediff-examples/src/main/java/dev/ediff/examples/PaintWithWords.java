package dev.ediff.examples;

import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;

import java.nio.file.Path;

/** Puts the painted phrase where its mask is, although the prompt states no position. */
public final class PaintWithWords {

    private PaintWithWords() {
    }

    public static void main(String[] args) {
        try (EDiff ediff = EDiff.openDefault()) {
            var g = ediff.generate(Request.prompt("a large purple diamond").seed(11).guidance(3.0)
                    .paint("purple diamond", Mask.ellipse(0.6, 0.6, 1.0, 1.0), 0.6)
                    .build());
            PngFiles.write(Path.of("painted.png"), Images.toImage(g.sample(0)), g.parameters(), true);
            System.out.println("painted.png (the diamond should sit bottom right)");
        }
    }
}
