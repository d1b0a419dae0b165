package dev.ediff.examples;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.ForwardingExpert;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;

/**
 * The bundled model with one expert replaced: below sigma 0.5 a Java expert takes over from the
 * bundled low-noise expert. The Java expert runs the bundled one and clips its clean-image
 * estimate to the valid pixel range [-1, 1] (Imagen's static thresholding); every other expert,
 * the encoders and the super-resolution stage are the loaded ones, shared, not loaded again.
 */
public final class ReplaceExpert {

    private ReplaceExpert() {
    }

    /** The wrapped expert's estimate, clipped to [-limit, limit]. */
    static final class Clipped extends ForwardingExpert {
        private final double limit;

        Clipped(Expert bundled, double limit) {
            super(bundled);
            this.limit = limit;
        }

        @Override
        public String name() {
            return "java-low";
        }

        @Override
        protected void denoise(Expert.Session inner, TensorShape shape, Conditioning cond, double[] x, double sigma,
                               double[] out) {
            inner.denoise(x, sigma, out);
            for (int i = 0; i < out.length; i++) {
                out[i] = Math.max(-limit, Math.min(limit, out[i]));
            }
        }
    }

    /**
     * A pipeline sharing {@code bundled}'s models, with the Java expert on the base stage below
     * sigma 0.5. Close both; the models close with the last one.
     *
     * @param bundled the loaded model
     * @param limit   the Java expert clips the estimate to {@code [-limit, limit]} (1: the pixel range)
     * @return the derived pipeline
     */
    public static EDiff withJavaLowNoiseExpert(EDiff bundled, double limit) {
        Expert low = bundled.stages().get(0).routingTree().route(0.0);
        return bundled.toBuilder().replaceExpert("base", NoiseInterval.below(0.5), new Clipped(low, limit)).build();
    }

    /**
     * Generates one image with the replaced expert and prints which expert served each evaluation.
     *
     * @param args the prompt (optional)
     */
    public static void main(String[] args) {
        String prompt = args.length > 0 ? String.join(" ", args) : "a red circle above a blue square";
        try (EDiff bundled = EDiff.openDefault();
             EDiff mine = withJavaLowNoiseExpert(bundled, 1.0)) {
            Generation g = mine.generate(Request.prompt(prompt).seed(42).build());
            g.stage("base").evaluations().forEach(e -> System.out.printf("sigma %9.4f -> %s%n", e.sigma(), e.expert()));
            System.out.println(g.parameters());
        }
    }
}
