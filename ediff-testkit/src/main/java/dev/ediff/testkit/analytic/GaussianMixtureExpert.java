package dev.ediff.testkit.analytic;

import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;

import java.util.List;

/**
 * The exact denoiser of one or more Gaussian mixtures, as a Java expert. With several mixtures it
 * is a class-conditional model: each sample's class is the value of its {@link #LABEL} conditioning
 * (a {@code [B, 1]} tensor), and {@link Conditioning#NONE} means class 0, so class 0 plays the
 * unconditional model in guidance.
 */
public final class GaussianMixtureExpert implements Expert {

    /** The conditioning role holding each sample's class index as a float. */
    public static final String LABEL = "label";

    private final String name;
    private final List<GaussianMixture> mixtures;

    /**
     * The exact denoiser of a mixture per class; the {@link #LABEL} conditioning picks the class.
     *
     * @param name     the expert's name
     * @param mixtures the mixtures, indexed by class, at least one
     */
    public GaussianMixtureExpert(String name, List<GaussianMixture> mixtures) {
        if (mixtures.isEmpty()) {
            throw new IllegalArgumentException("at least one mixture is needed");
        }
        this.name = name;
        this.mixtures = List.copyOf(mixtures);
    }

    /**
     * The exact denoiser of one mixture.
     *
     * @param name    the expert's name
     * @param mixture the mixture
     */
    public GaussianMixtureExpert(String name, GaussianMixture mixture) {
        this(name, List.of(mixture));
    }

    @Override
    public String name() {
        return name;
    }

    /** {@return the mixtures, by class} */
    public List<GaussianMixture> mixtures() {
        return mixtures;
    }

    /**
     * Conditioning that selects class {@code label} for {@code batch} samples.
     *
     * @param label the class, an index into the expert's mixtures
     * @param batch the number of samples
     * @return the conditioning
     */
    public static Conditioning label(int label, int batch) {
        return Conditioning.of(LABEL, Tensor.filled(label, batch, 1));
    }

    @Override
    public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
        int d = shape.sampleSize();
        Tensor labels = cond.get(LABEL).orElse(null);
        if (labels != null && labels.size() != shape.batch()) {
            throw new EDiffException("conditioning '" + LABEL + "' has " + labels.size() + " values for a batch of "
                    + shape.batch());
        }
        double[] logits = new double[maxComponents()];
        for (int b = 0; b < shape.batch(); b++) {
            int c = labels == null ? 0 : Math.round(labels.get(b));
            if (c < 0 || c >= mixtures.size()) {
                throw new EDiffException("class " + c + " of sample " + b + " is outside [0, " + mixtures.size() + ")");
            }
            GaussianMixture m = mixtures.get(c);
            if (m.dim() != d) {
                throw new EDiffException("mixture of dimension " + m.dim() + " given samples of " + d + " values (shape "
                        + shape + ")");
            }
            m.denoise(x, b * d, sigma, out, logits);
        }
    }

    private int maxComponents() {
        int m = 0;
        for (GaussianMixture g : mixtures) {
            m = Math.max(m, g.components());
        }
        return m;
    }
}
