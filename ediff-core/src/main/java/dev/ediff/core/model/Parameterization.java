package dev.ediff.core.model;

import java.util.function.DoubleUnaryOperator;

/**
 * How a network's output relates to the denoiser {@code D(x; sigma)} (Karras et al. 2022, Table 1):
 * it gives, per sigma, the {@link Preconditioning} coefficients. Backends apply them while copying
 * tensors, so adapting a model costs no extra pass.
 */
@FunctionalInterface
public interface Parameterization {

    /**
     * The coefficients at {@code sigma}.
     *
     * @param sigma the noise level
     * @return {@code cSkip}, {@code cOut}, {@code cIn}, {@code cNoise}
     */
    Preconditioning at(double sigma);

    /** {@return the x0 parameterization: the network outputs D itself and takes x and sigma unchanged ({@code cNoise = sigma})} */
    static Parameterization x0() {
        return sigma -> new Preconditioning(0, 1, 1, sigma);
    }

    /**
     * EDM preconditioning: {@code cSkip = sd^2/(s^2+sd^2)}, {@code cOut = s sd/sqrt(s^2+sd^2)},
     * {@code cIn = 1/sqrt(s^2+sd^2)}, {@code cNoise = ln(s)/4}.
     *
     * @param sigmaData the data's standard deviation {@code sd}
     * @return the parameterization
     */
    static Parameterization edm(double sigmaData) {
        checkSigmaData(sigmaData);
        double sd2 = sigmaData * sigmaData;
        return sigma -> {
            double v = sigma * sigma + sd2;
            return new Preconditioning(sd2 / v, sigma * sigmaData / Math.sqrt(v), 1 / Math.sqrt(v), Math.log(sigma) / 4);
        };
    }

    /**
     * Noise (epsilon) prediction: {@code D = x - sigma eps}, input scaled by {@code 1/sqrt(s^2+sd^2)}.
     *
     * @param sigmaData  the data's standard deviation {@code sd}
     * @param noiseInput the noise conditioning as a function of sigma
     * @return the parameterization
     */
    static Parameterization eps(double sigmaData, DoubleUnaryOperator noiseInput) {
        checkSigmaData(sigmaData);
        return sigma -> new Preconditioning(1, -sigma, 1 / Math.sqrt(sigma * sigma + sigmaData * sigmaData),
                noiseInput.applyAsDouble(sigma));
    }

    /**
     * Velocity (v) prediction: {@code cSkip = sd^2/(s^2+sd^2)}, {@code cOut = -s sd/sqrt(s^2+sd^2)},
     * {@code cIn = 1/sqrt(s^2+sd^2)}.
     *
     * @param sigmaData  the data's standard deviation {@code sd}
     * @param noiseInput the noise conditioning as a function of sigma
     * @return the parameterization
     */
    static Parameterization v(double sigmaData, DoubleUnaryOperator noiseInput) {
        checkSigmaData(sigmaData);
        double sd2 = sigmaData * sigmaData;
        return sigma -> {
            double v = sigma * sigma + sd2;
            return new Preconditioning(sd2 / v, -sigma * sigmaData / Math.sqrt(v), 1 / Math.sqrt(v),
                    noiseInput.applyAsDouble(sigma));
        };
    }

    /**
     * A discrete-time VP model predicting eps, given the timestep of sigma (sigma_data 1).
     *
     * @param table the model's alphas_cumprod table
     * @return the parameterization
     */
    static Parameterization discreteEps(DiscreteVp table) {
        return eps(1.0, table::timestepOf);
    }

    /**
     * A discrete-time VP model predicting v, given the timestep of sigma (sigma_data 1).
     *
     * @param table the model's alphas_cumprod table
     * @return the parameterization
     */
    static Parameterization discreteV(DiscreteVp table) {
        return v(1.0, table::timestepOf);
    }

    private static void checkSigmaData(double sigmaData) {
        if (!(sigmaData > 0) || !Double.isFinite(sigmaData)) {
            throw new IllegalArgumentException("sigma_data must be finite and > 0, got " + sigmaData);
        }
    }
}
