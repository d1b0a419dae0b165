package dev.ediff.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.api.EDiffException;
import dev.ediff.onnx.internal.SessionOpener;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The one owner of an ONNX Runtime session and its options, for experts and encoders alike:
 * opened on the configured provider, checked tensor by tensor, run under a read lock so that
 * {@link #close} refuses new calls, waits for running ones and never releases the session under
 * a call. Attached to a lazy {@link Residency}, the session is released between the generations
 * that use it and created again (same loader, same configuration) when one needs it; the graph's
 * signature is read once, at open.
 */
final class OnnxModel implements AutoCloseable {

    private final String name;
    private final OrtEnvironment env = NativeLibrary.environment();
    private final SessionOpener.Loader loader;
    private final SessionConfig config;
    private final String sha256; // the model's verified digest for the optimized-graph cache, or null
    private SessionOpener.Opened opened; // session, options, mapped graph; null while released; guarded by this
    private final ExecutionProvider provider;
    private final Map<String, NodeInfo> inputs;
    private final Map<String, NodeInfo> outputs;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile boolean closing;
    private boolean closed;
    private Residency.Slot slot; // null unless attached

    OnnxModel(String name, SessionOpener.Loader loader, SessionConfig config) {
        this(name, loader, config, null);
    }

    /** As the three-argument constructor; {@code sha256} is the model's verified digest (the graph cache's key), or null. */
    OnnxModel(String name, SessionOpener.Loader loader, SessionConfig config, String sha256) {
        this.name = name;
        this.loader = loader;
        this.config = config;
        this.sha256 = sha256;
        this.opened = SessionOpener.open(env, name, loader, config, sha256);
        this.provider = opened.provider();
        try {
            OrtSession session = opened.session();
            this.inputs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(session.getInputInfo()));
            this.outputs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(session.getOutputInfo()));
        } catch (OrtException e) {
            unload();
            throw new EDiffException(name + ": could not read the model's inputs and outputs: " + e.getMessage(), e);
        }
    }

    /**
     * Puts the session under {@code residency} (call once, after the owner's checks): a lazy
     * residency releases it now and loads it again when a generation runs it.
     */
    void attach(Residency residency, Residency.Placement placement) {
        if (residency == null || slot != null) {
            return;
        }
        if (residency.isLazy()) {
            unload();
        }
        slot = residency.register(new Residency.Loadable() {
            @Override
            public void load() {
                reload();
            }

            @Override
            public void unload() {
                OnnxModel.this.unload();
            }
        }, placement, name);
    }

    /** Creates the session again on the provider it was first opened on. */
    private synchronized void reload() {
        if (opened != null) {
            return;
        }
        SessionConfig again = provider instanceof ExecutionProvider.Cuda ? config
                : config.toBuilder().provider(ExecutionProvider.cpu()).build(); // a CPU fallback stays on the CPU
        opened = SessionOpener.open(env, name, loader, again, sha256);
    }

    /** Releases the session and its options (idempotent). */
    private synchronized void unload() {
        SessionOpener.Opened o = opened;
        opened = null;
        SessionOpener.close(name, o);
    }

    private Residency.Hold hold() {
        return slot == null ? () -> { } : slot.hold();
    }

    /** The execution provider actually in use. */
    ExecutionProvider provider() {
        return provider;
    }

    /** The session, for reading its signature (never closed by the caller). */
    synchronized OrtSession session() {
        if (opened == null) {
            throw new IllegalStateException("ONNX model '" + name + "' is released (lazy residency) or closed");
        }
        return opened.session();
    }

    /** True once {@link #close} has begun. */
    boolean isClosing() {
        return closing;
    }

    /** The number of runs in flight now (diagnostics and tests). */
    int runningCalls() {
        return lifecycle.getReadLockCount();
    }

    /** Runs the graph into preallocated (pinned) outputs; the result owns nothing and is closed here. */
    void runPinned(Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> pinnedOutputs, OrtSession.RunOptions runOptions)
            throws OrtException {
        ReentrantReadWriteLock.ReadLock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closing) {
                throw new IllegalStateException("ONNX model '" + name + "' is closed");
            }
            try (Residency.Hold ignored = hold()) {
                session().run(inputs, Set.of(), pinnedOutputs, runOptions).close();
            }
        } finally {
            lock.unlock();
        }
    }

    String name() {
        return name;
    }

    OrtEnvironment env() {
        return env;
    }

    /**
     * Checks that {@code tensor} is an input (or output) of rank {@code rank} with one of {@code types};
     * returns its declared shape (negative = dynamic).
     *
     * @throws EDiffException naming the tensor, the expected and the found signature
     */
    long[] require(boolean input, String tensor, String role, int rank, Set<OnnxJavaType> types) {
        Map<String, NodeInfo> nodes = input ? inputs : outputs;
        String kind = input ? "input" : "output";
        String expected = types + " rank " + rank;
        NodeInfo node = nodes.get(tensor);
        if (node == null) {
            StringJoiner j = new StringJoiner(", ");
            nodes.forEach((n, i) -> j.add("'" + n + "' " + GraphSignature.describe(i)));
            throw new EDiffException(name + ": expected " + kind + " '" + tensor + "' (" + role + ", " + expected
                    + "), but the model has no such " + kind + "; its " + kind + "s are: " + j);
        }
        if (!(node.getInfo() instanceof TensorInfo info) || !types.contains(info.type) || info.getShape().length != rank) {
            throw new EDiffException(name + ": " + kind + " '" + tensor + "' (" + role + "): expected " + expected
                    + ", found " + GraphSignature.describe(node));
        }
        return info.getShape();
    }

    /** The declared info of input {@code input}. */
    ai.onnxruntime.ValueInfo inputInfo(String input) {
        NodeInfo node = inputs.get(input);
        if (node == null) {
            throw new EDiffException(name + ": the model has no input '" + input + "'; its inputs are " + inputs.keySet());
        }
        return node.getInfo();
    }

    /** The names of the model's inputs. */
    Set<String> inputNames() {
        return inputs.keySet();
    }

    /** Runs the model and copies the requested float outputs out; the caller closes the inputs. */
    float[][] run(Map<String, OnnxTensor> inputs, String... outputs) {
        ReentrantReadWriteLock.ReadLock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closing) {
                throw new IllegalStateException("ONNX model '" + name + "' is closed");
            }
            try (Residency.Hold ignored = hold();
                 OrtSession.Result r = session().run(inputs, Set.copyOf(Arrays.asList(outputs)))) {
                float[][] out = new float[outputs.length][];
                for (int i = 0; i < outputs.length; i++) {
                    OnnxTensor t = (OnnxTensor) r.get(outputs[i]).orElseThrow();
                    java.nio.FloatBuffer fb = t.getFloatBuffer();
                    out[i] = new float[fb.remaining()];
                    fb.get(out[i]);
                }
                return out;
            }
        } catch (OrtException e) {
            throw new EDiffException(name + ": the model failed to run: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /** Refuses new calls, waits for running ones, then releases the session. Idempotent. */
    @Override
    public void close() {
        closing = true;
        ReentrantReadWriteLock.WriteLock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (slot != null) {
                    slot.residency().unregister(slot);
                }
            } finally {
                unload();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "OnnxModel[" + name + "]";
    }
}
