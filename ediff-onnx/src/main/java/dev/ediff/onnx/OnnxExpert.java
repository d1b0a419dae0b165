package dev.ediff.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.TensorShape;
import dev.ediff.onnx.internal.SessionOpener;
import dev.ediff.onnx.internal.ZeroInputCopy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * An expert denoiser backed by an ONNX graph run in ONNX Runtime. The {@link ExpertContract} says
 * which graph tensors play which role; it is checked against the graph when the expert opens (an
 * {@link EDiffException} names any tensor that is missing or has the wrong rank or dtype).
 *
 * <pre>{@code
 * ExpertContract contract = ExpertContract.builder()
 *         .xInput("x").noiseInput("c_noise", ExpertContract.NoiseInput.PER_SAMPLE)
 *         .conditioning(Conditioning.T5_TOKENS, "t5").output("F")
 *         .parameterization(Parameterization.edm(0.5)).build();
 * try (OnnxExpert expert = OnnxExpert.open(Path.of("high-noise.onnx"), contract, SessionConfig.DEFAULT)) {
 *     ...
 * }
 * }</pre>
 *
 * <p>{@link #open(TensorShape, Conditioning)} returns an {@link OnnxSession} that allocates its
 * buffers once and does no per-step allocation proportional to the tensor size. Thread-safe:
 * sessions of one expert may run on several threads at once. {@link #close} refuses new calls,
 * waits for running ones, then releases the ONNX Runtime session; closing twice does nothing.
 */
public final class OnnxExpert implements Expert, AutoCloseable {

    private final String name;
    private final ExpertContract contract;
    /** The graph unpainted calls run: the zero-input copy when there is one, else the graph itself. */
    private final OnnxModel model;
    private final GraphSignature signature;
    /** The input the copy specialises for zeros, or null when {@link #model} is the graph itself. */
    private final String zeroInput;
    private final SessionOpener.Loader graphLoader;
    private final SessionConfig config;
    private final String sha256;
    /** The graph itself when {@link #model} is the copy: opened on the first call that gives {@link #zeroInput}. */
    private OnnxModel graph; // guarded by this
    private boolean closing; // guarded by this: no graph opens once close has begun
    private final int maxBatch;
    private volatile Residency residency;
    private volatile Residency.Placement placement;
    /** Buffers of closed sessions, most recent first, for reuse by the next session of the same layout. */
    private final java.util.ArrayDeque<OnnxSession.Buffers> idle = new java.util.ArrayDeque<>();
    /** How many idle buffer sets an expert keeps (cond+uncond and a few batch sizes). */
    private static final int IDLE_LIMIT = 4;

    private OnnxExpert(String name, ExpertContract contract, SessionOpener.Loader loader, SessionConfig config) {
        this(name, contract, loader, config, null);
    }

    /** Opens the expert; {@code sha256} is the model's verified digest for the graph cache, or null. */
    OnnxExpert(String name, ExpertContract contract, SessionOpener.Loader loader, SessionConfig config, String sha256) {
        this(name, contract, loader, config, sha256, null);
    }

    /**
     * Opens the expert; with {@code zero} given and enabled ({@value #ZERO_COPY_PROPERTY}), calls
     * without that input run a copy of the graph without the work on its zeros, and the graph itself
     * opens on the first call that gives the input (see {@link ZeroInputCopy}).
     */
    OnnxExpert(String name, ExpertContract contract, SessionOpener.Loader loader, SessionConfig config, String sha256,
               ZeroInputCopy zero) {
        this.name = Objects.requireNonNull(name, "name");
        this.contract = Objects.requireNonNull(contract, "contract");
        this.config = Objects.requireNonNull(config, "config");
        this.sha256 = sha256;
        OnnxModel copy = zero != null && zeroCopyEnabled() ? openCopy(name, zero, config) : null;
        this.zeroInput = copy == null ? null : zero.input();
        this.graphLoader = copy == null ? loader : zero.graph();
        this.model = copy != null ? copy : new OnnxModel(name, loader, config, sha256);
        try {
            this.signature = GraphSignature.of(name, model.session());
            signature.check(contract);
        } catch (OrtException | RuntimeException e) {
            model.close();
            if (e instanceof EDiffException ee) {
                throw ee;
            }
            throw new EDiffException(name + ": could not read the model's inputs and outputs: " + e.getMessage(), e);
        }
        long declared = signature.input(contract.xInput()).getShape()[0];
        int limit = contract.maxBatch().orElse(Integer.MAX_VALUE);
        this.maxBatch = declared > 0 ? (int) Math.min(limit, declared) : limit;
    }

    /**
     * The system property that turns the zero-input copy off ({@code false}): every call then runs
     * the graph itself, as before the copy existed (for comparisons, and as a way out).
     */
    public static final String ZERO_COPY_PROPERTY = "ediff.zeroInputCopy";

    private static boolean zeroCopyEnabled() {
        return !"false".equalsIgnoreCase(System.getProperty(ZERO_COPY_PROPERTY));
    }

    /** The copy's model, or null when the rewrite removes nothing (the graph itself serves every call). */
    private static OnnxModel openCopy(String name, ZeroInputCopy zero, SessionConfig config) {
        try {
            return new OnnxModel(name, zero.copy(), config, zero.sha256());
        } catch (EDiffException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ZeroInputCopy.NotApplicable) {
                    return null;
                }
            }
            throw e;
        }
    }

    /**
     * The model a call runs: the copy unless the call gives the zero input, then the graph itself,
     * opened (and checked against the contract) on the first such call.
     */
    OnnxModel modelFor(boolean givesZeroInput) {
        if (zeroInput == null || !givesZeroInput) {
            return model;
        }
        synchronized (this) {
            if (closing) {
                throw new IllegalStateException("ONNX expert '" + name + "' is closed");
            }
            if (graph == null) {
                OnnxModel g = new OnnxModel(name, graphLoader, config, sha256);
                try {
                    GraphSignature.of(name, g.session()).check(contract);
                } catch (OrtException | RuntimeException e) {
                    g.close();
                    if (e instanceof EDiffException ee) {
                        throw ee;
                    }
                    throw new EDiffException(name + ": could not read the model's inputs and outputs: " + e.getMessage(), e);
                }
                if (residency != null) {
                    g.attach(residency, placement);
                }
                graph = g;
            }
            return graph;
        }
    }

    /** The input the unpainted copy takes as zeros, or null when every call runs the graph itself. */
    String zeroInput() {
        return zeroInput;
    }

    /**
     * Opens the model file on the CPU.
     *
     * @param model    the ONNX file
     * @param contract how to call it
     * @return the expert; the caller closes it
     */
    public static OnnxExpert open(Path model, ExpertContract contract) {
        return open(model, contract, SessionConfig.DEFAULT);
    }

    /**
     * Opens the model file with the given session configuration; the expert is named after the file.
     *
     * @param model    the ONNX file
     * @param contract how to call it
     * @param config   how to run the session
     * @return the expert; the caller closes it
     */
    public static OnnxExpert open(Path model, ExpertContract contract, SessionConfig config) {
        String fileName = model.getFileName().toString();
        return open(fileName.endsWith(".onnx") ? fileName.substring(0, fileName.length() - 5) : fileName, model,
                contract, config);
    }

    /**
     * Opens the model file under the given expert name (ONNX Runtime resolves external data beside the file).
     *
     * @param name     the expert's name
     * @param model    the ONNX file
     * @param contract how to call it
     * @param config   how to run the session
     * @return the expert; the caller closes it
     */
    public static OnnxExpert open(String name, Path model, ExpertContract contract, SessionConfig config) {
        Objects.requireNonNull(model, "model");
        if (!Files.isRegularFile(model)) {
            throw new EDiffException("ONNX model file " + model + " does not exist or is not a file");
        }
        return new OnnxExpert(name, contract, (e, o) -> e.createSession(model.toString(), o), config);
    }

    /**
     * Opens a model held in memory (the bytes are not kept after the session is created).
     *
     * @param name     the expert's name
     * @param model    the serialized ONNX model
     * @param contract how to call it
     * @param config   how to run the session
     * @return the expert; the caller closes it
     */
    public static OnnxExpert open(String name, byte[] model, ExpertContract contract, SessionConfig config) {
        Objects.requireNonNull(model, "model");
        return new OnnxExpert(name, contract, (e, o) -> e.createSession(model, o), config);
    }

    /**
     * Opens a model held in a direct (or mapped) buffer, from its position to its limit, without a
     * copy on the Java heap; the buffer is not kept after the session is created.
     *
     * @param name     the expert's name
     * @param model    the serialized ONNX model in a direct buffer
     * @param contract how to call it
     * @param config   how to run the session
     * @return the expert; the caller closes it
     * @throws IllegalArgumentException if the buffer is not direct
     */
    public static OnnxExpert open(String name, java.nio.ByteBuffer model, ExpertContract contract, SessionConfig config) {
        return new OnnxExpert(name, contract, SessionOpener.fromBuffer(model), config);
    }

    @Override
    public String name() {
        return name;
    }

    /** {@return the contract this expert was opened with} */
    public ExpertContract contract() {
        return contract;
    }

    /** {@return the execution provider actually in use (CPU when a CUDA request fell back)} */
    public ExecutionProvider provider() {
        return model.provider();
    }

    /** The largest batch: the contract's limit, or the graph's fixed batch dimension, else unbounded. */
    @Override
    public int maxBatch() {
        return maxBatch;
    }

    /**
     * The declared shape of one of the graph's inputs, for checks that span several models, such as
     * embedding widths between encoders and experts.
     *
     * @param input the graph input
     * @return its shape; negative entries are dynamic
     * @throws EDiffException if the graph has no such input
     */
    public long[] inputShape(String input) {
        try {
            return ((ai.onnxruntime.TensorInfo) model.inputInfo(input)).getShape();
        } catch (RuntimeException e) {
            throw new EDiffException(name + ": the model has no readable input '" + input + "'", e);
        }
    }

    /** {@return true once {@link #close} has been called} */
    public boolean isClosed() {
        return model.isClosing();
    }

    /**
     * One evaluation through a throw-away session. Convenient but allocates: sampling loops use
     * {@link #open(TensorShape, Conditioning)}.
     */
    @Override
    public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
        try (OnnxSession s = open(shape, cond)) {
            s.denoise(x, sigma, out);
        }
    }

    /**
     * A session for one shape and conditioning: buffers and ONNX tensors are made here, once.
     *
     * @throws EDiffException        when the shape or conditioning does not fit the graph
     * @throws IllegalStateException when this expert is closed
     */
    @Override
    public OnnxSession open(TensorShape shape, Conditioning cond) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(cond, "cond");
        ensureOpen();
        if (shape.batch() > maxBatch) {
            throw new EDiffException(name + ": batch " + shape.batch() + " exceeds the largest batch this expert accepts ("
                    + maxBatch + ")");
        }
        checkStaticDims("input '" + contract.xInput() + "'", signature.input(contract.xInput()), shape.toLongArray());
        checkStaticDims("output '" + contract.output() + "'", signature.output(contract.output()), shape.toLongArray());
        return new OnnxSession(this, shape, cond);
    }

    /** Checks {@code actual} against the fixed dimensions of a tensor; {@code label} names it in the error. */
    void checkStaticDims(String label, TensorInfo info, long[] actual) {
        long[] declared = info.getShape();
        boolean ok = declared.length == actual.length;
        for (int i = 0; ok && i < declared.length; i++) {
            ok = declared[i] < 0 || declared[i] == actual[i];
        }
        if (!ok) {
            throw new EDiffException(name + ": " + label + ": expected "
                    + java.util.Arrays.toString(actual) + " for this call, found " + GraphSignature.dtype(info) + " "
                    + GraphSignature.shape(info));
        }
    }

    GraphSignature signature() {
        return signature;
    }

    ai.onnxruntime.OrtEnvironment environment() {
        return model.env();
    }

    /**
     * Runs the graph under the read lock so that {@link #close} cannot release the session under
     * it. Pinned outputs are written in place; the returned result owns nothing and is closed here.
     */
    void run(OnnxModel on, Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> pinnedOutputs,
             OrtSession.RunOptions runOptions) throws OrtException {
        on.runPinned(inputs, pinnedOutputs, runOptions);
    }

    /**
     * Puts this expert's session under {@code residency}: a lazy one releases it now, loads it on the
     * first noise level this expert evaluates in a generation and releases it once the generation
     * has passed below {@code placement}'s interval (or moved to a later stage).
     *
     * @param residency the pipeline's residency (null: always loaded)
     * @param placement the expert's stage and the lowest noise level of its interval
     */
    public void attach(Residency residency, Residency.Placement placement) {
        synchronized (this) {
            this.residency = residency;
            this.placement = placement;
            model.attach(residency, placement);
            if (graph != null) {
                graph.attach(residency, placement);
            }
        }
    }

    /** Tells the residency, if any, the noise level of the evaluation about to run. */
    void entering(double sigma) {
        Residency r = residency;
        if (r != null) {
            r.denoising(placement.stage(), sigma);
        }
    }

    /** The number of graph runs in flight now (for diagnostics and tests). */
    int runningCalls() {
        OnnxModel g;
        synchronized (this) {
            g = graph;
        }
        return model.runningCalls() + (g == null ? 0 : g.runningCalls());
    }

    /** An idle buffer set made for {@code key}, or null. */
    OnnxSession.Buffers takeBuffers(String key) {
        synchronized (idle) {
            for (java.util.Iterator<OnnxSession.Buffers> it = idle.iterator(); it.hasNext(); ) {
                OnnxSession.Buffers b = it.next();
                if (b.key.equals(key)) {
                    it.remove();
                    return b;
                }
            }
            return null;
        }
    }

    /** Keeps a closed session's buffers for reuse, dropping the oldest beyond the limit; releases them once closed. */
    void giveBack(OnnxSession.Buffers buffers) {
        OnnxSession.Buffers dropped = null;
        synchronized (idle) {
            if (model.isClosing()) {
                dropped = buffers;
            } else {
                idle.addFirst(buffers);
                if (idle.size() > IDLE_LIMIT) {
                    dropped = idle.removeLast();
                }
            }
        }
        if (dropped != null) {
            dropped.close();
        }
    }

    private void ensureOpen() {
        if (model.isClosing()) {
            throw new IllegalStateException("ONNX expert '" + name + "' is closed");
        }
    }

    /** Refuses new calls, waits for running ones, then releases the ONNX Runtime session. Idempotent. */
    @Override
    public void close() {
        OnnxModel g;
        synchronized (this) {
            closing = true;
            g = graph;
        }
        try {
            model.close();
            if (g != null) {
                g.close();
            }
        } finally {
            synchronized (idle) {
                idle.forEach(OnnxSession.Buffers::close);
                idle.clear();
            }
        }
    }

    @Override
    public String toString() {
        return "OnnxExpert[" + name + ", " + model.provider().describe() + "]";
    }
}
