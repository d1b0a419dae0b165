package dev.ediff.eval;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ediff.api.Sample;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.Resampler;

import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The miniature eDiff-I's judge ({@code judge/judge.onnx}, see {@code tools/mini/README.md},
 * "Judge"): reads the objects of a 3x3 grid (shape, colour, size per occupied cell) and the
 * background style of an image. Input {@code images} float32 {@code [B, 3, H, W]}, RGB in [0, 1],
 * 32x32 or 64x64 (the graph resizes to 64x64 itself); images of other sizes are resized to 64x64
 * here (bicubic). Runs in batches. Not thread-safe for concurrent closing; {@link #judge} may be
 * called from one thread at a time.
 */
public final class Judge implements AutoCloseable {

    /** Images per ONNX run. */
    static final int BATCH = 32;
    static final String INPUT = "images";
    static final List<String> OUTPUTS = List.of("occupied_logits", "shape_logits", "colour_logits", "size_logits",
            "pattern_logits", "tint_logits");

    private final String name;
    private final OrtEnvironment env = dev.ediff.onnx.NativeLibrary.environment();
    private final OrtSession session;

    private Judge(String name, OrtSession session) {
        this.name = name;
        this.session = session;
        try {
            if (!session.getInputNames().contains(INPUT) || !session.getOutputNames().containsAll(OUTPUTS)) {
                throw new EvalException(EvalException.FAILED, name + " is not a judge: it has inputs "
                        + session.getInputNames() + " and outputs " + session.getOutputNames() + "; expected input '"
                        + INPUT + "' and outputs " + OUTPUTS);
            }
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** Opens a judge file. */
    public static Judge open(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new EvalException(EvalException.USAGE, "judge " + file + " does not exist or is not a file");
        }
        try {
            OrtEnvironment env = dev.ediff.onnx.NativeLibrary.environment();
            return new Judge(file.toString(), env.createSession(file.toString(), options()));
        } catch (OrtException e) {
            throw new EvalException(EvalException.FAILED, "cannot open the judge " + file + ": " + e.getMessage());
        }
    }

    /** Opens a judge held in memory (e.g. read from the classpath). */
    public static Judge open(String name, byte[] model) {
        try {
            OrtEnvironment env = dev.ediff.onnx.NativeLibrary.environment();
            return new Judge(name, env.createSession(model, options()));
        } catch (OrtException e) {
            throw new EvalException(EvalException.FAILED, "cannot open the judge " + name + ": " + e.getMessage());
        }
    }

    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        // Two threads: the evaluation shares a small machine with the generating sessions.
        o.setIntraOpNumThreads(2);
        return o;
    }

    /** Where the judge came from. */
    public String name() {
        return name;
    }

    /** Judges SDK samples ({@code [1, 3, H, W]}, values in [-1, 1]). */
    public List<JudgedImage> judgeSamples(List<Sample> samples) {
        List<double[]> images = new ArrayList<>();
        int h = -1;
        int w = -1;
        for (Sample s : samples) {
            if (s.shape().channels() != 3) {
                throw new IllegalArgumentException("the judge reads RGB samples, got " + s.shape());
            }
            if (h >= 0 && (s.shape().height() != h || s.shape().width() != w)) {
                throw new IllegalArgumentException("samples of one call must have one size, got " + h + "x" + w
                        + " and " + s.shape().height() + "x" + s.shape().width());
            }
            h = s.shape().height();
            w = s.shape().width();
            images.add(s.data());
        }
        return judge(images, h, w);
    }

    /** Judges an image file or decoded image: centre-cropped to a square and resized to 64x64. */
    public JudgedImage judgeImage(BufferedImage image) {
        return judge(List.of(Images.shorterSideCenterCrop(image, 64)), 64, 64).get(0);
    }

    /**
     * Judges images given as {@code [3, h, w]} tensors in [-1, 1] (the SDK's sample units), all of
     * one size.
     */
    public List<JudgedImage> judge(List<double[]> images, int h, int w) {
        List<JudgedImage> out = new ArrayList<>(images.size());
        if (images.isEmpty()) {
            return out;
        }
        boolean native32or64 = h == w && (h == 32 || h == 64);
        int s = native32or64 ? h : 64;
        int plane = 3 * s * s;
        for (int start = 0; start < images.size(); start += BATCH) {
            int n = Math.min(BATCH, images.size() - start);
            float[] px = new float[n * plane];
            for (int b = 0; b < n; b++) {
                double[] img = images.get(start + b);
                if (img.length != 3 * h * w) {
                    throw new IllegalArgumentException("image " + (start + b) + " has " + img.length + " values, not 3x"
                            + h + "x" + w);
                }
                double[] x = native32or64 ? img : Resampler.resize(img, 3, h, w, s, s);
                for (int i = 0; i < plane; i++) {
                    // SDK units [-1, 1] -> the judge's [0, 1]; clamped, as an 8-bit PNG of the sample would be.
                    px[b * plane + i] = (float) Math.max(0, Math.min(1, (x[i] + 1) / 2));
                }
            }
            out.addAll(run(px, n, s));
        }
        return out;
    }

    private List<JudgedImage> run(float[] px, int n, int s) {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(px), new long[] {n, 3, s, s});
             OrtSession.Result r = session.run(Map.of(INPUT, in), Set.copyOf(OUTPUTS))) {
            float[][] o = new float[OUTPUTS.size()][];
            int[] widths = {9, 9 * 5, 9 * 7, 9 * 2, 5, 4};
            for (int k = 0; k < OUTPUTS.size(); k++) {
                OnnxTensor t = (OnnxTensor) r.get(OUTPUTS.get(k)).orElseThrow();
                FloatBuffer fb = t.getFloatBuffer();
                o[k] = new float[fb.remaining()];
                fb.get(o[k]);
                if (o[k].length != n * widths[k]) {
                    throw new EvalException(EvalException.FAILED, name + ": output " + OUTPUTS.get(k) + " has "
                            + o[k].length + " values for " + n + " images; expected " + n * widths[k]);
                }
            }
            List<JudgedImage> out = new ArrayList<>(n);
            for (int b = 0; b < n; b++) {
                out.add(decode(o[0], o[1], o[2], o[3], o[4], o[5], b));
            }
            return out;
        } catch (OrtException e) {
            throw new EvalException(EvalException.FAILED, name + ": judging failed: " + e.getMessage());
        }
    }

    /**
     * The judge's decoding rule for image {@code b} of a batch: cell c holds an object iff its
     * occupied logit is {@code > 0}; its labels are the argmax of its rows; style = argmax pattern, tint.
     */
    static JudgedImage decode(float[] occupied, float[] shape, float[] colour, float[] size, float[] pattern,
                              float[] tint, int b) {
        List<JudgedImage.JudgedObject> objects = new ArrayList<>();
        for (int c = 0; c < 9; c++) {
            if (occupied[b * 9 + c] > 0) {
                objects.add(new JudgedImage.JudgedObject(c, argmax(shape, (b * 9 + c) * 5, 5),
                        argmax(colour, (b * 9 + c) * 7, 7), argmax(size, (b * 9 + c) * 2, 2)));
            }
        }
        return new JudgedImage(objects, argmax(pattern, b * 5, 5), argmax(tint, b * 4, 4));
    }

    /** Index of the largest of {@code v[from .. from+n)}; the first on ties (as numpy's argmax). */
    static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private void closeQuietly() {
        try {
            session.close();
        } catch (OrtException ignored) {
            // closing after a failed open: the original error matters more
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new EvalException(EvalException.FAILED, name + ": closing failed: " + e.getMessage());
        }
    }
}
