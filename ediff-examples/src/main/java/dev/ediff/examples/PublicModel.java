package dev.ediff.examples;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A public model exported by Hugging Face optimum ({@code optimum-cli export onnx --model ... DIR}):
 * Stable Diffusion 1.x / 2.x, SDXL (with its refiner as a second folder) or SD3, detected from the
 * folder's {@code model_index.json}. Usage:
 * <pre>
 * PublicModel DIR [REFINER_DIR] [PROMPT]
 * </pre>
 * The family decides the rest: the folder's scheduler sets the default sampler (Euler or
 * DPM-Solver++(2M), reproducing diffusers' EulerDiscrete / DPMSolverMultistep / FlowMatchEuler),
 * SDXL's base hands the low noise levels to the refiner, and on SD3 the same prompt also runs with
 * T5 switched off ({@code t5(false)}), as diffusers runs it without text_encoder_3.
 */
public final class PublicModel {

    private PublicModel() {
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: PublicModel DIR [REFINER_DIR] [PROMPT]");
            System.exit(2);
        }
        Path folder = Path.of(args[0]);
        Path refiner = args.length > 1 && java.nio.file.Files.isDirectory(Path.of(args[1])) ? Path.of(args[1]) : null;
        String prompt = args.length > (refiner == null ? 1 : 2) ? args[args.length - 1]
                : "a photograph of an astronaut riding a horse";
        System.out.println(run(folder, refiner, prompt, Path.of(".")));
    }

    /**
     * Generates {@code prompt} with the folder (and refiner, if not null) into {@code out}; on SD3 once
     * more with T5 off.
     *
     * @return the PNG files written
     */
    static List<Path> run(Path folder, Path refiner, String prompt, Path out) {
        try (EDiff ediff = refiner == null ? EDiff.open(folder) : EDiff.open(folder, refiner)) {
            System.out.println(ediff.name() + ": encoders " + ediff.textEncoders().keySet() + ", experts "
                    + ediff.routingTree());
            Request.Builder r = Request.prompt(prompt).negativePrompt("blurry, low quality").seed(42)
                    .onProgress(p -> System.out.printf("step %d/%d sigma %.3f %s%n", p.step() + 1, p.totalSteps(), p.sigma(),
                            p.expert()));
            List<Path> files = new ArrayList<>(ediff.generate(r.build()).writePngs(out, "public-model"));
            if (ediff.textEncoders().containsKey("t5")) {
                files.addAll(ediff.generate(r.t5(false).build()).writePngs(out, "public-model-no-t5"));
            }
            return files;
        }
    }
}
