package dev.ediff.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Expert;
import dev.ediff.api.Tensor;
import dev.ediff.api.TensorShape;
import dev.ediff.core.model.Preconditioning;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An {@link OnnxExpert} bound to one shape and conditioning for a sampling run.
 *
 * <p>Everything is allocated when the session opens: direct native-order buffers (float32, or
 * float16 where the graph declares it) for {@code x}, the noise level and the output, wrapped
 * zero-copy in ONNX tensors; the conditioning tensors; the
 * run options. A call writes {@code cIn * x} into the input buffer, runs the graph into the
 * preallocated (pinned) output and applies {@code D = cSkip x + cOut F}: its Java allocation does
 * not grow with the tensor size.
 *
 * <p>Used by one thread at a time; {@link #abort} may be called from any thread and stops a running
 * call, which then throws {@link CancelledException} (as does every later call). {@link #close}
 * waits for a running call; closing twice does nothing.
 */
public final class OnnxSession implements Expert.Session {

    private final OnnxExpert expert;
    private final TensorShape shape;
    private final ExpertContract contract;
    private final int size;
    /** The native buffers and tensors, borrowed from the expert's pool and given back on close. */
    private Buffers buffers;
    private final NativeBuffer x;
    private final NativeBuffer noise;
    private final NativeBuffer output;
    private final Map<String, OnnxTensor> inputs;
    private final Map<String, OnnxTensor> pinnedOutputs;
    private final OrtSession.RunOptions runOptions;
    /** The graph this session runs: the expert's zero-input copy, or the graph itself when the call gives that input. */
    private final OnnxModel model;
    /** Held during a call, so that close waits for it. */
    private final ReentrantLock callLock = new ReentrantLock();
    /** Guards runOptions against use after close when abort races with close. */
    private final Object abortLock = new Object();
    private volatile boolean aborted;
    private volatile boolean closed;
    private long modelNanos;
    private long calls;

    OnnxSession(OnnxExpert expert, TensorShape shape, Conditioning cond) {
        this.expert = expert;
        this.shape = shape;
        this.contract = expert.contract();
        this.size = shape.size();
        List<Feed> feeds = new ArrayList<>();
        StringBuilder key = new StringBuilder(shape.toString());
        for (Map.Entry<String, ExpertContract.ConditioningInput> e : contract.conditioning().entrySet()) {
            Feed f = feed(e.getKey(), e.getValue(), cond);
            feeds.add(f);
            key.append('|').append(f.input()).append(java.util.Arrays.toString(f.dims()))
                    .append(f.given() == null ? "=" + f.fill() : "");
        }
        // chosen (and the graph itself opened, on the first painted call) before anything native is made here
        String zero = expert.zeroInput();
        this.model = expert.modelFor(zero != null && feeds.stream().anyMatch(f -> f.input().equals(zero) && f.given() != null));
        Buffers b = null;
        OrtSession.RunOptions options = null;
        try {
            options = new OrtSession.RunOptions();
            b = expert.takeBuffers(key.toString());
            if (b == null) {
                b = Buffers.create(expert, shape, key.toString(), feeds);
            } else {
                b.write(feeds);
            }
        } catch (OrtException | RuntimeException e) {
            if (options != null) {
                options.close();
            }
            if (b != null) {
                b.close();
            }
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new EDiffException(expert.name() + ": could not create the session's tensors: " + e.getMessage(), e);
        }
        this.runOptions = options;
        this.buffers = b;
        this.x = b.x;
        this.noise = b.noise;
        this.output = b.output;
        this.inputs = b.inputs;
        this.pinnedOutputs = b.pinnedOutputs;
    }

    /** One conditioning input of a call: the given tensor, or the contract's fill value. */
    private record Feed(String input, long[] dims, Tensor given, float fill) {
    }

    private Feed feed(String role, ExpertContract.ConditioningInput target, Conditioning cond) {
        TensorInfo info = expert.signature().input(target.input());
        long[] declared = info.getShape();
        Optional<Tensor> given = cond.get(role);
        if (given.isPresent()) {
            Tensor t = given.get();
            long[] dims = t.shape();
            if (dims[0] != shape.batch()) {
                throw new EDiffException(expert.name() + ": conditioning '" + role + "' has batch " + dims[0]
                        + " but the call has batch " + shape.batch());
            }
            expert.checkStaticDims("input '" + target.input() + "' (conditioning '" + role + "')", info, dims);
            return new Feed(target.input(), dims, t, 0f);
        }
        if (target.fill().isPresent()) {
            long[] dims = declared.clone();
            dims[0] = shape.batch();
            for (int i = 1; i < dims.length; i++) {
                if (dims[i] < 0) {
                    throw new EDiffException(expert.name() + ": conditioning '" + role + "' is absent and input '"
                            + target.input() + "' " + GraphSignature.shape(info)
                            + " has a dynamic dimension, so no default can be made; give the role");
                }
            }
            product(dims);
            return new Feed(target.input(), dims, null, target.fill().get());
        }
        throw new EDiffException(expert.name() + ": input '" + target.input() + "' needs conditioning '" + role
                + "', which this call does not have (roles given: " + cond.roles() + ")");
    }

    private static long product(long[] dims) {
        long p = 1;
        for (long d : dims) {
            p = Math.multiplyExact(p, d);
        }
        return p;
    }

    /**
     * The native side of a session: direct buffers for x, the noise level, the output and each
     * conditioning input, and the ONNX tensors wrapping them. A filled input (no painted words:
     * an all-zero attention bias) is written once, when made. An expert keeps a few of these for
     * reuse by later sessions of the same shape and conditioning layout, so a generation does not
     * allocate them again.
     */
    static final class Buffers implements AutoCloseable {
        final String key;
        final NativeBuffer x;
        final NativeBuffer noise;
        final NativeBuffer output;
        final Map<String, NativeBuffer> conditioning = new LinkedHashMap<>();
        final Map<String, OnnxTensor> inputs;
        final Map<String, OnnxTensor> pinnedOutputs;
        private final List<OnnxTensor> owned = new ArrayList<>();

        private Buffers(OnnxExpert expert, TensorShape shape, String key, List<Feed> feeds) throws OrtException {
            this.key = key;
            GraphSignature sig = expert.signature();
            ExpertContract contract = expert.contract();
            try {
                x = NativeBuffer.allocate(sig.input(contract.xInput()).type, shape.size());
                output = NativeBuffer.allocate(sig.output(contract.output()).type, shape.size());
                ExpertContract.NoiseInput noiseShape = contract.noiseShape();
                noise = NativeBuffer.allocate(sig.input(contract.noiseInput()).type,
                        noiseShape == ExpertContract.NoiseInput.SCALAR ? 1 : shape.batch());
                Map<String, OnnxTensor> in = new LinkedHashMap<>();
                in.put(contract.xInput(), own(x.wrap(expert.environment(), shape.toLongArray())));
                in.put(contract.noiseInput(), own(noise.wrap(expert.environment(), noiseShape.dims(shape.batch()))));
                for (Feed f : feeds) {
                    NativeBuffer buffer = NativeBuffer.allocate(sig.input(f.input()).type, Math.toIntExact(product(f.dims())));
                    if (f.given() == null && f.fill() != 0f) {
                        buffer.fill(f.fill()); // direct memory starts zeroed
                    }
                    conditioning.put(f.input(), buffer);
                    in.put(f.input(), own(buffer.wrap(expert.environment(), f.dims())));
                }
                inputs = Collections.unmodifiableMap(in);
                pinnedOutputs = Map.of(contract.output(), own(output.wrap(expert.environment(), shape.toLongArray())));
            } catch (OrtException | RuntimeException e) {
                close();
                throw e;
            }
            write(feeds);
        }

        static Buffers create(OnnxExpert expert, TensorShape shape, String key, List<Feed> feeds) throws OrtException {
            return new Buffers(expert, shape, key, feeds);
        }

        private OnnxTensor own(OnnxTensor t) {
            owned.add(t);
            return t;
        }

        /** Writes the given conditioning tensors (filled inputs keep their constant content). */
        void write(List<Feed> feeds) {
            for (Feed f : feeds) {
                if (f.given() != null) {
                    conditioning.get(f.input()).write(f.given());
                }
            }
        }

        /** Closes the tensors, then frees their direct memory (no session uses these buffers any more). */
        @Override
        public void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                owned.get(i).close();
            }
            owned.clear();
            for (NativeBuffer b : new NativeBuffer[] {x, noise, output}) {
                if (b != null) {
                    b.free();
                }
            }
            conditioning.values().forEach(NativeBuffer::free);
        }
    }

    /** {@return the shape this session was opened for} */
    public TensorShape shape() {
        return shape;
    }

    /** {@return the nanoseconds spent inside ONNX Runtime's run over all calls (the rest of a call is SDK time)} */
    public long modelNanos() {
        return modelNanos;
    }

    /** {@return the number of completed calls} */
    public long calls() {
        return calls;
    }

    @Override
    public void denoise(double[] in, double sigma, double[] out) {
        int n = size;
        if (in.length != n || out.length != n) {
            throw new IllegalArgumentException("expected " + n + " values for shape " + shape + ", got x of "
                    + in.length + " and out of " + out.length);
        }
        callLock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("this ONNX session of '" + expert.name() + "' is closed");
            }
            if (aborted) {
                throw new CancelledException("ONNX session of '" + expert.name() + "' was aborted");
            }
            expert.entering(sigma); // a lazy residency releases what this generation has passed
            Preconditioning p = contract.parameterization().at(sigma);
            x.write(in, p.cIn());
            noise.fill((float) p.cNoise());
            long t0 = System.nanoTime();
            try {
                expert.run(model, inputs, pinnedOutputs, runOptions);
            } catch (OrtException e) {
                if (aborted) {
                    throw new CancelledException("ONNX session of '" + expert.name() + "' was aborted");
                }
                throw new EDiffException(expert.name() + ": ONNX Runtime failed at sigma " + sigma + ": "
                        + e.getMessage(), e);
            } finally {
                modelNanos += System.nanoTime() - t0;
            }
            if (aborted) {
                // The run finished before the terminate flag was seen: the caller still asked to stop.
                throw new CancelledException("ONNX session of '" + expert.name() + "' was aborted");
            }
            output.read(in, p.cSkip(), p.cOut(), out);
            calls++;
        } finally {
            callLock.unlock();
        }
    }

    /** Stops a running call (it throws {@link CancelledException}) and refuses later ones. Any thread. */
    @Override
    public void abort() {
        synchronized (abortLock) {
            if (closed || aborted) {
                return;
            }
            aborted = true;
            try {
                runOptions.setTerminate(true);
            } catch (OrtException e) {
                throw new EDiffException(expert.name() + ": could not ask ONNX Runtime to stop: " + e.getMessage(), e);
            }
        }
    }

    /** {@return true once {@link #abort} was called} */
    public boolean isAborted() {
        return aborted;
    }

    /** {@return true once closed} */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Waits for a running call, then releases the run options and gives the buffers back to the
     * expert for reuse (or releases them). Idempotent.
     */
    @Override
    public void close() {
        callLock.lock();
        try {
            synchronized (abortLock) {
                if (closed) {
                    return;
                }
                closed = true;
                runOptions.close();
                Buffers b = buffers;
                buffers = null;
                expert.giveBack(b);
            }
        } finally {
            callLock.unlock();
        }
    }
}
