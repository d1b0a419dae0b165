package dev.ediff.examples;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;

import java.nio.file.Path;

/** The same prompt and seed with T5 only, CLIP only, and both: eDiff-I's encoders are switchable. */
public final class EncoderToggles {

    private EncoderToggles() {
    }

    public static void main(String[] args) {
        String prompt = "a little green triangle to the left of a big yellow star";
        try (EDiff ediff = EDiff.openDefault()) {
            for (boolean[] t : new boolean[][] {{true, false}, {false, true}, {true, true}}) {
                var g = ediff.generate(Request.prompt(prompt).seed(7).t5(t[0]).clip(t[1]).guidance(3.0).build());
                Path file = Path.of("toggles-t5_" + t[0] + "-clip_" + t[1] + ".png");
                PngFiles.write(file, Images.toImage(g.sample(0)), g.parameters(), true);
                System.out.println(file);
            }
        }
    }
}
