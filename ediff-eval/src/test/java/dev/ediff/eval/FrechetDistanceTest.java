package dev.ediff.eval;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FrechetDistanceTest {

    static List<float[]> gaussian(int n, int d, long seed) {
        Random r = new Random(seed);
        List<float[]> x = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] v = new float[d];
            for (int j = 0; j < d; j++) {
                // Correlated, with a mean: a non-trivial covariance.
                v[j] = (float) (r.nextGaussian() * (1 + j % 3) + (j > 0 ? 0.5 * v[j - 1] : 0) + 0.1 * j);
            }
            x.add(v);
        }
        return x;
    }

    @Test
    void jacobiDecomposesARandomSymmetricMatrix() {
        Random r = new Random(1);
        int n = 12;
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                a[i][j] = r.nextGaussian();
                a[j][i] = a[i][j];
            }
        }
        SymmetricEigen e = SymmetricEigen.of(a);
        double[][] back = e.apply(x -> x);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(a[i][j], back[i][j], 1e-10);
                double dot = 0;
                for (int k = 0; k < n; k++) {
                    dot += e.vectors()[k][i] * e.vectors()[k][j];
                }
                assertEquals(i == j ? 1 : 0, dot, 1e-10, "orthonormal eigenvectors");
            }
        }
        // Eigenvalues of a diagonal matrix are its diagonal.
        double[] values = SymmetricEigen.of(new double[][] {{3, 0}, {0, -2}}).values();
        assertEquals(3, Math.max(values[0], values[1]), 0);
        assertEquals(-2, Math.min(values[0], values[1]), 0);
    }

    @Test
    void identicalSetsAreAtDistanceZero() {
        List<float[]> a = gaussian(300, 16, 7);
        assertEquals(0, FrechetDistance.between(a, a), 1e-6);
    }

    @Test
    void aShiftedSetIsAtTheSquaredShift() {
        List<float[]> a = gaussian(200, 10, 3);
        List<float[]> b = new ArrayList<>();
        double shift2 = 0;
        float[] shift = new float[10];
        for (int j = 0; j < 10; j++) {
            shift[j] = 0.25f * (j - 4);
            shift2 += (double) shift[j] * shift[j];
        }
        for (float[] v : a) {
            float[] w = v.clone();
            for (int j = 0; j < 10; j++) {
                w[j] += shift[j];
            }
            b.add(w);
        }
        assertEquals(shift2, FrechetDistance.between(a, b), 1e-4);
    }

    @Test
    void aScaledSetFollowsTheClosedForm() {
        // B = c A: S2 = c^2 S1, so FD = (1 - c)^2 (|mu1|^2 + Tr S1).
        List<float[]> a = gaussian(250, 8, 11);
        double c = 2.5;
        List<float[]> b = new ArrayList<>();
        for (float[] v : a) {
            float[] w = new float[v.length];
            for (int j = 0; j < v.length; j++) {
                w[j] = (float) (c * v[j]);
            }
            b.add(w);
        }
        double[] mu = FrechetDistance.mean(a, 8);
        double[][] s = FrechetDistance.covariance(a, mu);
        double expected = 0;
        for (int j = 0; j < 8; j++) {
            expected += (1 - c) * (1 - c) * (mu[j] * mu[j] + s[j][j]);
        }
        assertEquals(expected, FrechetDistance.between(a, b), 1e-5 * expected);
    }

    @Test
    void isotropicGaussiansFromMoments() {
        // N(mu1, a^2 I) vs N(mu2, b^2 I) in d dimensions: |mu1 - mu2|^2 + d (a - b)^2.
        int d = 5;
        double a = 1.5;
        double b = 0.4;
        double[][] s1 = new double[d][d];
        double[][] s2 = new double[d][d];
        double[] mu1 = new double[d];
        double[] mu2 = new double[d];
        for (int i = 0; i < d; i++) {
            s1[i][i] = a * a;
            s2[i][i] = b * b;
            mu2[i] = i;
        }
        double expected = 30 + d * (a - b) * (a - b);
        assertEquals(expected, FrechetDistance.fromMoments(mu1, s1, mu2, s2), 1e-12);
    }

    @Test
    void nonCommutingCovariancesIn2d() {
        // S1 = diag(4, 1), S2 = rotation by 45 degrees of diag(4, 1): equal spectra, FD = 2 (5 - Tr sqrt(S1^1/2 S2 S1^1/2)).
        double[][] s1 = {{4, 0}, {0, 1}};
        double[][] s2 = {{2.5, 1.5}, {1.5, 2.5}};
        // S1^1/2 S2 S1^1/2 = [[10, 3], [3, 2.5]]: trace of its root = sqrt(tr + 2 sqrt(det)) for a 2x2 PSD matrix.
        double tr = 12.5;
        double det = 25 - 9;
        double expected = 10 - 2 * Math.sqrt(tr + 2 * Math.sqrt(det));
        assertEquals(expected, FrechetDistance.fromMoments(new double[2], s1, new double[2], s2), 1e-12);
    }

    @Test
    void fewerSamplesThanDimensionsStillGiveAFiniteDistance() {
        List<float[]> a = gaussian(5, 32, 1);
        List<float[]> b = gaussian(7, 32, 2);
        double fd = FrechetDistance.between(a, b);
        assertEquals(true, Double.isFinite(fd) && fd > 0, "fd " + fd);
    }
}
