package dev.ediff.examples;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;
import dev.ediff.core.sampling.Samplers;

import java.nio.file.Path;

/** Generates four images from a prompt with the bundled default model and writes them as PNGs. */
public final class PlainGeneration {

    private PlainGeneration() {
    }

    public static void main(String[] args) {
        String prompt = args.length > 0 ? String.join(" ", args) : "a large red circle above a small blue square";
        try (EDiff ediff = EDiff.openDefault()) {
            Generation g = ediff.generate(Request.prompt(prompt)
                    .seed(42).count(4)
                    .sampler(Samplers.dpmSolverPP2M(), 20)
                    .guidance(3.0)
                    .onProgress(p -> System.out.printf("%s step %d/%d sigma %.3f expert %s%n",
                            p.stage(), p.step() + 1, p.totalSteps(), p.sigma(), p.expert()))
                    .build());
            for (var s : g.samples()) {
                Path file = Path.of("plain-" + s.seed() + ".png");
                PngFiles.write(file, Images.toImage(s), g.parameters(), true);
                System.out.println(file);
            }
        }
    }
}
