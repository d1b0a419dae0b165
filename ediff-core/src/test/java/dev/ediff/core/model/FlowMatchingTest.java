package dev.ediff.core.model;

import dev.ediff.core.sampling.Euler;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FlowMatchingTest {

    /** A fixed nonlinear "network" standing in for a velocity model: F(x_t, c). */
    private static double net(double xt, double c) {
        return Math.sin(1.3 * xt + c / 700) - 0.4 * xt;
    }

    @Test
    void anExactVelocityGivesTheCleanSample() {
        Random r = new Random(1);
        Parameterization p = FlowMatching.velocity(s -> 1000 * FlowMatching.tOf(s));
        for (int k = 0; k < 1000; k++) {
            double x0 = r.nextGaussian();
            double eps = r.nextGaussian();
            double t = r.nextDouble() * 0.999;
            double sigma = FlowMatching.sigmaOf(t);
            double xSdk = x0 + sigma * eps;
            Preconditioning c = p.at(sigma);
            double xt = c.cIn() * xSdk;
            assertEquals((1 - t) * x0 + t * eps, xt, 1e-9 * (1 + Math.abs(xSdk)));
            assertEquals(1000 * t, c.cNoise(), 1e-9);
            double d = c.cSkip() * xSdk + c.cOut() * (eps - x0);
            assertEquals(x0, d, 1e-9 * (1 + Math.abs(xSdk)));
        }
    }

    @Test
    void eulerInSigmaTakesTheStepsOfFlowMatchEulerInT() {
        double[] ts = {0.97, 0.8, 0.55, 0.3, 0.05, 0};
        double[] sigmas = new double[ts.length];
        for (int i = 0; i < ts.length; i++) {
            sigmas[i] = FlowMatching.sigmaOf(ts[i]);
        }
        Parameterization p = FlowMatching.velocity(s -> 1000 * FlowMatching.tOf(s));
        double[] start = {0.3, -1.2, 2.0};
        // flow-match Euler: x_t += (t' - t) F(x_t, 1000 t)
        double[] flow = start.clone();
        for (int i = 0; i < ts.length - 1; i++) {
            for (int k = 0; k < flow.length; k++) {
                flow[k] += (ts[i + 1] - ts[i]) * net(flow[k], 1000 * ts[i]);
            }
        }
        // the SDK's Euler on x = x_t / (1 - t) with the velocity parameterization
        double[] x = new double[start.length];
        for (int k = 0; k < x.length; k++) {
            x[k] = start[k] * (1 + sigmas[0]);
        }
        new Euler().sample((in, sigma, out) -> {
            Preconditioning c = p.at(sigma);
            for (int k = 0; k < in.length; k++) {
                out[k] = c.cSkip() * in[k] + c.cOut() * net(c.cIn() * in[k], c.cNoise());
            }
        }, x, sigmas, null, (i, s, xs, d) -> { });
        for (int k = 0; k < x.length; k++) {
            assertEquals(flow[k], x[k], 1e-12);
        }
    }

    @Test
    void tOneIsTheCap() {
        assertEquals(FlowMatching.SIGMA_CAP, FlowMatching.sigmaOf(1.0));
        assertEquals(1.0, FlowMatching.tOf(FlowMatching.SIGMA_CAP));
        assertEquals(0.0, FlowMatching.sigmaOf(0.0));
        assertThrows(IllegalArgumentException.class, () -> FlowMatching.sigmaOf(1.5));
    }
}
