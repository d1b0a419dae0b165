package dev.ediff.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.api.EDiffException;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An ONNX Runtime session for a non-expert model (a text or image encoder): opened on the
 * configured provider, checked tensor by tensor, run under a read lock so that {@link #close}
 * never releases the session under a running call. Owns its session and options.
 */
final class OnnxModel implements AutoCloseable {

    private final String name;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    OnnxModel(String name, SessionOpener.Loader loader, SessionConfig config) {
        this.name = name;
        SessionOpener.Opened opened = SessionOpener.open(env, name, loader, config);
        this.session = opened.session();
        this.options = opened.options();
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
        try {
            Map<String, NodeInfo> nodes = input ? session.getInputInfo() : session.getOutputInfo();
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
        } catch (OrtException e) {
            throw new EDiffException(name + ": could not read the model's inputs and outputs: " + e.getMessage(), e);
        }
    }

    /** The declared info of input {@code input}. */
    ai.onnxruntime.ValueInfo inputInfo(String input) {
        try {
            return session.getInputInfo().get(input).getInfo();
        } catch (OrtException e) {
            throw new EDiffException(name + ": could not read the model's inputs: " + e.getMessage(), e);
        }
    }

    /** The names of the model's inputs. */
    Set<String> inputNames() {
        try {
            return session.getInputNames();
        } catch (RuntimeException e) {
            throw new EDiffException(name + ": could not read the model's inputs: " + e.getMessage(), e);
        }
    }

    /** Runs the model and copies the requested float outputs out; the caller closes the inputs. */
    float[][] run(Map<String, OnnxTensor> inputs, String... outputs) {
        ReentrantReadWriteLock.ReadLock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("ONNX model '" + name + "' is closed");
            }
            try (OrtSession.Result r = session.run(inputs, Set.copyOf(Arrays.asList(outputs)))) {
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

    /** Waits for running calls, then releases the session. Idempotent. */
    @Override
    public void close() {
        ReentrantReadWriteLock.WriteLock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                session.close();
            } catch (OrtException e) {
                throw new EDiffException(name + ": closing the ONNX Runtime session failed: " + e.getMessage(), e);
            } finally {
                options.close();
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
