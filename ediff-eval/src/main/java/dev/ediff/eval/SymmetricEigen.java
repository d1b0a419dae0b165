package dev.ediff.eval;

/**
 * Eigen-decomposition of a real symmetric matrix by the cyclic Jacobi method: {@code A = V diag(d) V^T}
 * with V orthogonal. Slow (O(n^3) per sweep) but simple and accurate to rounding, which is all a
 * 128x128 covariance needs.
 *
 * @param values  eigenvalues, in no particular order
 * @param vectors eigenvectors as columns, row-major {@code n x n}: {@code vectors[i][k]} is component i of vector k
 */
public record SymmetricEigen(double[] values, double[][] vectors) {

    private static final int MAX_SWEEPS = 100;

    /** Decomposes {@code a} (symmetric, n x n; not modified). */
    public static SymmetricEigen of(double[][] a) {
        int n = a.length;
        double[][] m = new double[n][];
        for (int i = 0; i < n; i++) {
            if (a[i].length != n) {
                throw new IllegalArgumentException("matrix is not square: row " + i + " has " + a[i].length + " values");
            }
            m[i] = a[i].clone();
        }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        double scale = 0;
        for (double[] row : m) {
            for (double x : row) {
                scale += x * x;
            }
        }
        double tol = 1e-30 * Math.max(scale, Double.MIN_NORMAL);
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += m[p][q] * m[p][q];
                }
            }
            if (off <= tol) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (m[p][q] != 0) {
                        rotate(m, v, p, q);
                    }
                }
            }
        }
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = m[i][i];
        }
        return new SymmetricEigen(d, v);
    }

    /** One Jacobi rotation zeroing {@code m[p][q]} (Numerical Recipes' stable form). */
    private static void rotate(double[][] m, double[][] v, int p, int q) {
        int n = m.length;
        double apq = m[p][q];
        double theta = (m[q][q] - m[p][p]) / (2 * apq);
        double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        if (theta == 0) {
            t = 1;
        }
        double c = 1 / Math.sqrt(t * t + 1);
        double s = t * c;
        for (int k = 0; k < n; k++) {
            double mkp = m[k][p];
            double mkq = m[k][q];
            m[k][p] = c * mkp - s * mkq;
            m[k][q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < n; k++) {
            double mpk = m[p][k];
            double mqk = m[q][k];
            m[p][k] = c * mpk - s * mqk;
            m[q][k] = s * mpk + c * mqk;
        }
        // Exact zero rather than the rounding residue, so the sweep's convergence test sees progress.
        m[p][q] = 0;
        m[q][p] = 0;
        for (int k = 0; k < n; k++) {
            double vkp = v[k][p];
            double vkq = v[k][q];
            v[k][p] = c * vkp - s * vkq;
            v[k][q] = s * vkp + c * vkq;
        }
    }

    /** {@code V f(diag(d)) V^T} with {@code f} applied to each eigenvalue (e.g. a square root). */
    public double[][] apply(java.util.function.DoubleUnaryOperator f) {
        int n = values.length;
        double[] fd = new double[n];
        for (int k = 0; k < n; k++) {
            fd[k] = f.applyAsDouble(values[k]);
        }
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += vectors[i][k] * fd[k] * vectors[j][k];
                }
                out[i][j] = s;
                out[j][i] = s;
            }
        }
        return out;
    }
}
