package dev.ediff.onnx.diffusers;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.platform.Fp16Conversions;
import dev.ediff.api.Denoiser;
import dev.ediff.core.model.Parameterization;
import dev.ediff.core.model.Preconditioning;
import dev.ediff.core.schedule.DiffusersSchedule;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Time per denoiser evaluation on the tiny fixtures (batch 2: guidance), three ways: the raw ONNX
 * Runtime run with tensors made once; {@link DenoiserGraph#predict} (tensors made per call, float16
 * conversion); and the SDK's guided step (preconditioning, guidance combine, Euler update). Not a unit
 * test; run by hand after {@code mvn -o -pl ediff-onnx -am test-compile}:
 * {@code java -cp ediff-onnx/target/test-classes:ediff-onnx/target/classes:ediff-core/target/classes:ediff-api/target/classes:<deps>
 * dev.ediff.onnx.diffusers.DiffusersStepBenchmark [iterations]}.
 */
public final class DiffusersStepBenchmark {

    private DiffusersStepBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        System.out.printf("%-14s %-13s %10s %12s %12s%n", "fixture", "timestep", "raw ORT ms", "adapter ms", "SDK step ms");
        for (String name : new String[] {"sd15", "sd15-fp16", "sd2", "sdxl-base", "sdxl-refiner", "sd3"}) {
            DiffusersFolder folder = DiffusersFolder.open(References.folder(name));
            DiffusersSchedule s = DiffusersSchedule.forSampler("euler", folder.scheduler(), 10);
            Parameterization p = s.parameterization(folder.scheduler().prediction());
            int c = folder.vae().latentChannels();
            long[] shape = {1, c, 8, 8};
            try (DiffusersPromptEncoder enc = DiffusersPromptEncoder.open(folder, 1);
                 DenoiserGraph net = DenoiserGraph.open(folder, 1)) {
                DiffusersPromptEncoder.Embeddings e = enc.encode("a red cube on a blue table", null, true);
                float[] timeIds = net.takesAddedConditioning()
                        ? DiffusersPromptEncoder.timeIds(folder.family(), 64, 64, 6.0, 2.5) : null;
                double raw = raw(folder, e, timeIds, c, n);
                float[] in = new float[2 * c * 64];
                Arrays.fill(in, 0.1f);
                long[] batch = {2, c, 8, 8};
                double adapter = time(n, () -> net.predict(in, batch, 500, e, timeIds));
                double[] x = new double[c * 64];
                Arrays.fill(x, 0.5);
                double[] out = new double[x.length];
                double sigma = s.sigmas()[3];
                Denoiser d = (xs, sg, o) -> {
                    Preconditioning pc = p.at(sg);
                    float[] b = new float[2 * xs.length];
                    for (int i = 0; i < xs.length; i++) {
                        b[i] = (float) (pc.cIn() * xs[i]);
                        b[xs.length + i] = b[i];
                    }
                    float[] f = net.predict(b, batch, pc.cNoise(), e, timeIds);
                    for (int i = 0; i < xs.length; i++) {
                        o[i] = pc.cSkip() * xs[i] + pc.cOut() * (f[i] + 5 * (f[xs.length + i] - f[i]));
                    }
                };
                double step = time(n, () -> {
                    d.denoise(x, sigma, out);
                    for (int i = 0; i < x.length; i++) {
                        x[i] = 0.5 + 1e-9 * (x[i] - out[i]); // keep x fixed-size and finite
                    }
                });
                System.out.printf("%-14s %-13s %10.3f %12.3f %12.3f%n", name, net.timestepForm(), raw, adapter, step);
            }
        }
    }

    /** Median ms per call of the bare session with every input made once. */
    private static double raw(DiffusersFolder folder, DiffusersPromptEncoder.Embeddings e, float[] timeIds, int c, int n)
            throws Exception {
        OrtEnvironment env = dev.ediff.onnx.NativeLibrary.environment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(folder.model(folder.family().denoiser()).toString(), o)) {
                Map<String, OnnxTensor> feeds = new HashMap<>();
                try {
                    for (var entry : session.getInputInfo().entrySet()) {
                        var info = (ai.onnxruntime.TensorInfo) entry.getValue().getInfo();
                        String k = entry.getKey();
                        float[] data;
                        long[] shape;
                        switch (k) {
                            case "sample", "hidden_states" -> {
                                data = new float[2 * c * 64];
                                shape = new long[] {2, c, 8, 8};
                            }
                            case "encoder_hidden_states" -> {
                                data = e.tokens();
                                shape = new long[] {2, e.sequence(), e.width()};
                            }
                            case "text_embeds", "pooled_projections" -> {
                                data = e.pooled();
                                shape = new long[] {2, e.pooledWidth()};
                            }
                            case "time_ids" -> {
                                data = timeIds;
                                shape = new long[] {2, timeIds.length / 2};
                            }
                            case "timestep" -> {
                                data = info.getShape().length == 0 ? new float[] {500} : new float[] {500, 500};
                                shape = info.getShape().length == 0 ? new long[0] : new long[] {2};
                            }
                            default -> throw new IllegalStateException("input " + k);
                        }
                        OnnxTensor t;
                        if (info.type == OnnxJavaType.INT64) {
                            t = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {500, 500}), shape);
                        } else if (info.type == OnnxJavaType.FLOAT16) {
                            t = OnnxTensor.createTensor(env, Fp16Conversions.convertFloatBufferToFp16Buffer(FloatBuffer.wrap(data)),
                                    shape, OnnxJavaType.FLOAT16);
                        } else {
                            t = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
                        }
                        feeds.put(k, t);
                    }
                    return time(n, () -> {
                        try (OrtSession.Result r = session.run(feeds)) {
                            r.get(0);
                        }
                    });
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
        }
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }

    private static double time(int n, Body body) throws Exception {
        for (int i = 0; i < Math.min(20, n); i++) {
            body.run();
        }
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            body.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[n / 2];
    }
}
