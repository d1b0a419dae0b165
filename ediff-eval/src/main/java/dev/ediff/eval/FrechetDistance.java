package dev.ediff.eval;

import java.util.List;

/**
 * The Frechet distance between two sets of embeddings, each summarised by a Gaussian (mean and
 * covariance): {@code |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)}, the FID formula.
 * The matrix square roots come from symmetric eigen-decompositions ({@link SymmetricEigen}), with
 * eigenvalues that rounding made slightly negative clamped to 0: the covariances are positive
 * semi-definite, and with fewer samples than dimensions they are singular.
 */
public final class FrechetDistance {

    private FrechetDistance() {
    }

    /** The distance between the embedding sets {@code a} and {@code b} (rows = samples, all of one width). */
    public static double between(List<float[]> a, List<float[]> b) {
        if (a.isEmpty() || b.isEmpty()) {
            throw new IllegalArgumentException("the Frechet distance needs at least one embedding on each side");
        }
        int d = a.get(0).length;
        double[] mu1 = mean(a, d);
        double[] mu2 = mean(b, d);
        return fromMoments(mu1, covariance(a, mu1), mu2, covariance(b, mu2));
    }

    /** The distance between Gaussians N(mu1, s1) and N(mu2, s2). */
    public static double fromMoments(double[] mu1, double[][] s1, double[] mu2, double[][] s2) {
        int d = mu1.length;
        double dist = 0;
        for (int i = 0; i < d; i++) {
            dist += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        }
        double[][] root1 = SymmetricEigen.of(s1).apply(x -> Math.sqrt(Math.max(0, x)));
        double[][] m = multiply(multiply(root1, s2), root1);
        // Symmetrise: the product is symmetric in exact arithmetic, and Jacobi assumes it.
        for (int i = 0; i < d; i++) {
            for (int j = i + 1; j < d; j++) {
                double avg = (m[i][j] + m[j][i]) / 2;
                m[i][j] = avg;
                m[j][i] = avg;
            }
        }
        double traceRoot = 0;
        for (double lambda : SymmetricEigen.of(m).values()) {
            traceRoot += Math.sqrt(Math.max(0, lambda));
        }
        double trace = 0;
        for (int i = 0; i < d; i++) {
            trace += s1[i][i] + s2[i][i];
        }
        // Rounding can leave a tiny negative value for identical sets; a distance is >= 0.
        return Math.max(0, dist + trace - 2 * traceRoot);
    }

    static double[] mean(List<float[]> x, int d) {
        double[] mu = new double[d];
        for (float[] row : x) {
            if (row.length != d) {
                throw new IllegalArgumentException("embeddings of different widths: " + d + " and " + row.length);
            }
            for (int i = 0; i < d; i++) {
                mu[i] += row[i];
            }
        }
        for (int i = 0; i < d; i++) {
            mu[i] /= x.size();
        }
        return mu;
    }

    /** The unbiased sample covariance (divisor n - 1, as numpy.cov; a single sample gives 0). */
    static double[][] covariance(List<float[]> x, double[] mu) {
        int d = mu.length;
        double[][] s = new double[d][d];
        double[] c = new double[d];
        for (float[] row : x) {
            if (row.length != d) {
                throw new IllegalArgumentException("embeddings of different widths: " + d + " and " + row.length);
            }
            for (int i = 0; i < d; i++) {
                c[i] = row[i] - mu[i];
            }
            for (int i = 0; i < d; i++) {
                for (int j = i; j < d; j++) {
                    s[i][j] += c[i] * c[j];
                }
            }
        }
        double div = Math.max(1, x.size() - 1);
        for (int i = 0; i < d; i++) {
            for (int j = i; j < d; j++) {
                s[i][j] /= div;
                s[j][i] = s[i][j];
            }
        }
        return s;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        int k = b.length;
        int m = b[0].length;
        double[][] out = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < k; t++) {
                double ait = a[i][t];
                if (ait == 0) {
                    continue;
                }
                for (int j = 0; j < m; j++) {
                    out[i][j] += ait * b[t][j];
                }
            }
        }
        return out;
    }
}
