package dev.ediff.testkit.analytic;

import ai.onnx.proto.OnnxMl;
import dev.ediff.api.TensorShape;
import dev.ediff.onnx.ExpertContract;
import dev.ediff.onnx.OnnxExpert;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.testkit.conformance.ConformanceRunner;

import java.util.List;

import static dev.ediff.testkit.analytic.OnnxGraphBuilder.attr;

/**
 * The exact denoiser of class-conditional isotropic Gaussian mixtures (see {@link GaussianMixture}),
 * as an ONNX graph built in code, computed in float32 by ONNX Runtime: the ONNX counterpart of
 * {@link GaussianMixtureExpert}, used to test the ONNX backend against known answers.
 *
 * <p>Graph: inputs {@code x} float {@code [B, C, H, W]}, {@code sigma} float {@code [B]}, and, with
 * more than one mixture, {@code label} float {@code [B, 1]} (the class of each sample, rounded);
 * output {@code D} float {@code [B, C, H, W]}. Per mixture, with {@code v_k = s_k^2 + sigma^2}:
 * {@code l_k = ln pi_k - (d/2) ln v_k - |x - mu_k|^2 / (2 v_k)}, {@code r = softmax(l)} (the max
 * subtracted before exponentiating), and
 * {@code D = x * sum_k r_k s_k^2/v_k + sum_k r_k (sigma^2/v_k) mu_k}, which is the posterior mean
 * {@code sum_k r_k (mu_k + (s_k^2/v_k)(x - mu_k))} rearranged into one MatMul. A sample whose label
 * names no mixture gets {@code D = 0}.
 */
public final class GaussianMixtureOnnx {

    /** Graph input names. */
    public static final String X = "x";
    /** Graph input name of the noise level. */
    public static final String SIGMA = "sigma";
    /** Graph input name of the class label. */
    public static final String LABEL = "label";
    /** Graph output name. */
    public static final String OUTPUT = "D";

    private GaussianMixtureOnnx() {
    }

    /**
     * The serialized ONNX model denoising samples of {@code sampleShape} (its batch is ignored:
     * the graph's batch is dynamic) for mixtures indexed by class.
     *
     * @param mixturesByClass the mixtures, indexed by class label
     * @param sampleShape     the shape of one sample
     * @return the model's bytes
     * @throws IllegalArgumentException if a mixture's dimension is not {@code C*H*W}
     */
    public static byte[] model(List<GaussianMixture> mixturesByClass, TensorShape sampleShape) {
        if (mixturesByClass.isEmpty()) {
            throw new IllegalArgumentException("at least one mixture is needed");
        }
        int d = sampleShape.sampleSize();
        for (int m = 0; m < mixturesByClass.size(); m++) {
            if (mixturesByClass.get(m).dim() != d) {
                throw new IllegalArgumentException("mixture " + m + " has dimension " + mixturesByClass.get(m).dim()
                        + ", samples of shape " + sampleShape.withBatch(1) + " have " + d);
            }
        }
        OnnxGraphBuilder g = new OnnxGraphBuilder("gaussian_mixture_denoiser");
        Object[] xDims = {"B", sampleShape.channels(), sampleShape.height(), sampleShape.width()};
        String x = g.input(X, OnnxMl.TensorProto.DataType.FLOAT, xDims);
        String sigma = g.input(SIGMA, OnnxMl.TensorProto.DataType.FLOAT, "B");
        String label = mixturesByClass.size() > 1 ? g.input(LABEL, OnnxMl.TensorProto.DataType.FLOAT, "B", 1) : null;
        g.output(OUTPUT, OnnxMl.TensorProto.DataType.FLOAT, xDims);

        String xRows = g.node("Reshape", new String[] {x, g.constant(new long[] {-1, 1, d}, 3)}); // [B, 1, d]
        String xFlat = g.node("Reshape", new String[] {x, g.constant(new long[] {-1, d}, 2)});    // [B, d]
        String s = g.node("Reshape", new String[] {sigma, g.constant(new long[] {-1, 1}, 2)});    // [B, 1]
        String s2 = g.node("Mul", new String[] {s, s});

        String result = null;
        for (int m = 0; m < mixturesByClass.size(); m++) {
            String dm = mixture(g, mixturesByClass.get(m), xRows, xFlat, s2);
            if (label == null) {
                result = dm;
            } else {
                String rounded = g.node("Round", new String[] {label});
                String isM = g.node("Equal", new String[] {rounded, g.scalar(m)});
                String mask = g.node("Cast", new String[] {isM}, attr("to", OnnxMl.TensorProto.DataType.FLOAT.getNumber()));
                String selected = g.node("Mul", new String[] {mask, dm});
                result = result == null ? selected : g.node("Add", new String[] {result, selected});
            }
        }
        g.node("Reshape", OUTPUT, new String[] {result, g.node("Shape", new String[] {x})});
        return g.build();
    }

    /** Adds the nodes of one mixture's posterior mean; returns its {@code [B, d]} output. */
    private static String mixture(OnnxGraphBuilder g, GaussianMixture gm, String xRows, String xFlat, String s2) {
        int k = gm.components();
        int d = gm.dim();
        float[] logWeights = new float[k];
        float[] variances = new float[k];
        float[] means = new float[k * d];
        for (int c = 0; c < k; c++) {
            logWeights[c] = (float) Math.log(gm.weight(c));
            double std = gm.std(c);
            variances[c] = (float) (std * std);
            double[] mu = gm.mean(c);
            for (int j = 0; j < d; j++) {
                means[c * d + j] = (float) mu[j];
            }
        }
        String var = g.constant(variances, 1, k);
        String diff = g.node("Sub", new String[] {xRows, g.constant(means, 1, k, d)});             // [B, k, d]
        String dist = g.node("ReduceSum", new String[] {g.node("Mul", new String[] {diff, diff}),
                g.constant(new long[] {2}, 1)}, attr("keepdims", 0));                             // [B, k]
        String v = g.node("Add", new String[] {var, s2});                                          // [B, k]
        String logNorm = g.node("Mul", new String[] {g.node("Log", new String[] {v}), g.scalar(0.5f * d)});
        String quad = g.node("Div", new String[] {dist, g.node("Add", new String[] {v, v})});
        String logits = g.node("Sub", new String[] {
                g.node("Sub", new String[] {g.constant(logWeights, 1, k), logNorm}), quad});
        // Log-sum-exp stabilisation: exp of (logits - max) never overflows, and the max term is exactly 1.
        String max = g.node("ReduceMax", new String[] {logits}, attr("axes", new long[] {1}), attr("keepdims", 1));
        String e = g.node("Exp", new String[] {g.node("Sub", new String[] {logits, max})});
        String z = g.node("ReduceSum", new String[] {e, g.constant(new long[] {1}, 1)}, attr("keepdims", 1));
        String r = g.node("Div", new String[] {e, z});                                              // [B, k]
        // sigma^2 / v directly rather than 1 - s^2/v: no cancellation when sigma is small.
        String keepX = g.node("ReduceSum", new String[] {
                g.node("Mul", new String[] {r, g.node("Div", new String[] {var, v})}),
                g.constant(new long[] {1}, 1)}, attr("keepdims", 1));                             // [B, 1]
        String meanWeights = g.node("Mul", new String[] {r, g.node("Div", new String[] {s2, v})}); // [B, k]
        String meanPart = g.node("MatMul", new String[] {meanWeights, g.constant(means, k, d)});   // [B, d]
        return g.node("Add", new String[] {g.node("Mul", new String[] {xFlat, keepX}), meanPart});
    }

    /**
     * The contract of the graphs {@link #model} builds (label defaults to class 0 when absent).
     *
     * @param mixtures the number of mixtures (classes)
     * @return the contract
     */
    public static ExpertContract contract(int mixtures) {
        ExpertContract.Builder b = ExpertContract.builder()
                .xInput(X)
                .noiseInput(SIGMA, ExpertContract.NoiseInput.PER_SAMPLE)
                .output(OUTPUT);
        if (mixtures > 1) {
            // Class 0 plays the unconditional model, as in GaussianMixtureExpert.
            b.conditioning(GaussianMixtureExpert.LABEL, LABEL, 0f);
        }
        return b.build();
    }

    /**
     * An ONNX expert for the mixtures; the caller closes it.
     *
     * @param name            the expert's name
     * @param mixturesByClass the mixtures, indexed by class label
     * @param sampleShape     the shape of one sample
     * @param config          how to run the session
     * @return the expert
     */
    public static OnnxExpert expert(String name, List<GaussianMixture> mixturesByClass, TensorShape sampleShape,
                                    SessionConfig config) {
        return OnnxExpert.open(name, model(mixturesByClass, sampleShape), contract(mixturesByClass.size()), config);
    }

    /**
     * A factory of ONNX experts for {@link ConformanceRunner}.
     *
     * @param config how to run the sessions
     * @return the factory
     */
    public static ConformanceRunner.ExpertFactory factory(SessionConfig config) {
        return (name, mixtures, shape) -> expert(name, mixtures, shape, config);
    }
}
