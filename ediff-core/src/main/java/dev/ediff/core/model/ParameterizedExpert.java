package dev.ediff.core.model;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Expert;
import dev.ediff.api.TensorShape;

/** A Java {@link Network} made into an expert by a {@link Parameterization}. */
public final class ParameterizedExpert implements Expert {

    private final String name;
    private final Network network;
    private final Parameterization parameterization;

    /**
     * An expert made of a raw network and the parameterization it was trained in.
     *
     * @param name             the expert's name
     * @param network          the network {@code F}
     * @param parameterization how {@code F} maps to the denoiser {@code D}
     */
    public ParameterizedExpert(String name, Network network, Parameterization parameterization) {
        this.name = name;
        this.network = network;
        this.parameterization = parameterization;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
        open(shape, cond).denoise(x, sigma, out);
    }

    @Override
    public Session open(TensorShape shape, Conditioning cond) {
        double[] xIn = new double[shape.size()];
        return (x, sigma, out) -> {
            Preconditioning p = parameterization.at(sigma);
            for (int k = 0; k < x.length; k++) {
                xIn[k] = p.cIn() * x[k];
            }
            network.apply(xIn, shape, p.cNoise(), cond, out);
            for (int k = 0; k < x.length; k++) {
                out[k] = p.cSkip() * x[k] + p.cOut() * out[k];
            }
        };
    }
}
