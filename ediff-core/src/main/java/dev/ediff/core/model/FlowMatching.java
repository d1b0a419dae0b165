package dev.ediff.core.model;

import java.util.function.DoubleUnaryOperator;

/**
 * Rectified flow (SD3): {@code x_t = (1 - t) x0 + t eps} with {@code t} in [0, 1], the network
 * predicting the velocity {@code v = eps - x0}. In the SDK's convention the same sample is
 * {@code x = x_t / (1 - t) = x0 + sigma eps} with {@code sigma = t / (1 - t)}, so any sampler runs it;
 * Euler in sigma on {@code x} takes exactly the steps of flow-match Euler in {@code t} on {@code x_t}.
 */
public final class FlowMatching {

    /**
     * The sigma that stands for {@code t = 1} (pure noise, where {@code t / (1 - t)} is infinite):
     * the first step from it differs from the exact limit by about {@code 1 / SIGMA_CAP}.
     */
    public static final double SIGMA_CAP = 1e7;

    private FlowMatching() {
    }

    /**
     * {@code sigma = t / (1 - t)}, {@link #SIGMA_CAP} at (and near) {@code t = 1}.
     *
     * @param t flow time in [0, 1] ({@code x_t = (1 - t) x0 + t eps})
     * @return the SDK sigma of the same noise-to-signal ratio
     */
    public static double sigmaOf(double t) {
        if (!(t >= 0 && t <= 1)) {
            throw new IllegalArgumentException("flow time t must be in [0, 1], got " + t);
        }
        return t >= SIGMA_CAP / (1 + SIGMA_CAP) ? SIGMA_CAP : t / (1 - t);
    }

    /**
     * {@code t = sigma / (1 + sigma)}; 1 for sigmas at or above {@link #SIGMA_CAP}.
     *
     * @param sigma an SDK sigma, {@code >= 0}
     * @return the flow time in [0, 1]
     */
    public static double tOf(double sigma) {
        if (!(sigma >= 0)) {
            throw new IllegalArgumentException("sigma must be >= 0, got " + sigma);
        }
        return sigma >= SIGMA_CAP ? 1 : sigma / (1 + sigma);
    }

    /**
     * The velocity parameterization: {@code D(x; sigma) = x / (1 + sigma) - t F(x / (1 + sigma), c)}
     * with {@code t = sigma / (1 + sigma)}, i.e. {@code cSkip = cIn = 1 / (1 + sigma)},
     * {@code cOut = -t}, {@code cNoise = timestepOf(sigma)} (SD3 feeds {@code 1000 t}).
     *
     * @param timestepOf the network's timestep input for a sigma (e.g. a schedule's {@code timestepOf})
     * @return the parameterization that turns the network's velocity into a denoiser
     */
    public static Parameterization velocity(DoubleUnaryOperator timestepOf) {
        return sigma -> {
            double in = sigma >= SIGMA_CAP ? 1 / (1 + SIGMA_CAP) : 1 / (1 + sigma);
            return new Preconditioning(in, -tOf(sigma), in, timestepOf.applyAsDouble(sigma));
        };
    }
}
