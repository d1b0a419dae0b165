package dev.ediff.testkit.analytic;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.TensorShape;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.testkit.analytic.GaussianMixture;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ONNX Gaussian-mixture graph agrees with the Java double-precision denoiser. */
class GaussianMixtureOnnxTest {

    static final SessionConfig ONE_THREAD = SessionConfig.builder().intraOpThreads(1).build();
    static final TensorShape SAMPLE = TensorShape.of(3, 4, 5);
    static List<GaussianMixture> mixtures;
    static OnnxExpert onnx;
    static GaussianMixtureExpert java;

    @BeforeAll
    static void open() {
        Random rnd = new Random(7);
        mixtures = List.of(randomMixture(rnd, 3, SAMPLE.sampleSize()), randomMixture(rnd, 5, SAMPLE.sampleSize()),
                randomMixture(rnd, 1, SAMPLE.sampleSize()));
        onnx = GaussianMixtureOnnx.expert("gmm", mixtures, SAMPLE, ONE_THREAD);
        java = new GaussianMixtureExpert("gmm", mixtures);
    }

    @AfterAll
    static void close() {
        onnx.close();
    }

    static GaussianMixture randomMixture(Random rnd, int k, int d) {
        double[] w = new double[k];
        double[][] mu = new double[k][d];
        double[] s = new double[k];
        for (int c = 0; c < k; c++) {
            w[c] = 0.2 + rnd.nextDouble();
            s[c] = c == 0 && k > 2 ? 0.0 : 0.05 + 0.5 * rnd.nextDouble(); // include a point mass
            for (int j = 0; j < d; j++) {
                mu[c][j] = 2 * rnd.nextDouble() - 1;
            }
        }
        return new GaussianMixture(w, mu, s);
    }

    @Test
    void agreesWithTheJavaDenoiserOnRandomInputs() {
        Random rnd = new Random(11);
        double worst = 0;
        for (int trial = 0; trial < 200; trial++) {
            int batch = 1 + rnd.nextInt(4);
            TensorShape shape = SAMPLE.withBatch(batch);
            double sigma = Math.exp(Math.log(0.002) + rnd.nextDouble() * (Math.log(80) - Math.log(0.002)));
            double[] x = new double[shape.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (2 * rnd.nextDouble() - 1) + sigma * rnd.nextGaussian();
            }
            float[] labels = new float[batch];
            for (int b = 0; b < batch; b++) {
                labels[b] = rnd.nextInt(mixtures.size());
            }
            Conditioning cond = Conditioning.of(GaussianMixtureExpert.LABEL, dev.ediff.api.Tensor.of(labels, batch, 1));
            worst = Math.max(worst, compare(shape, x, sigma, cond));
        }
        System.out.printf("ONNX vs Java GMM denoiser: max relative error %.3g%n", worst);
        assertTrue(worst < 1e-4, "max error " + worst);
    }

    @Test
    void absentLabelMeansClassZero() {
        TensorShape shape = SAMPLE.withBatch(2);
        double[] x = new Random(3).doubles(shape.size(), -2, 2).toArray();
        assertTrue(compare(shape, x, 0.7, Conditioning.NONE) < 1e-4);
    }

    @Test
    void graphSizeAndExpertShape() {
        assertEquals(Integer.MAX_VALUE, onnx.maxBatch());
        assertEquals("gmm", onnx.name());
        assertEquals("CPU", onnx.provider().describe());
    }

    /** Max over elements of |onnx - java| / max(1, |java|). */
    static double compare(TensorShape shape, double[] x, double sigma, Conditioning cond) {
        double[] a = new double[x.length];
        double[] e = new double[x.length];
        try (Expert.Session s = onnx.open(shape, cond)) {
            s.denoise(x, sigma, a);
        }
        java.denoise(x, shape, sigma, cond, e);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i])));
        }
        return m;
    }

}
