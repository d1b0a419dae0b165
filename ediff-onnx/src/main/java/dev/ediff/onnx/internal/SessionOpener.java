package dev.ediff.onnx.internal;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import dev.ediff.api.EDiffException;
import dev.ediff.onnx.ExecutionProvider;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.SessionConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens an {@link OrtSession} on the provider a {@link SessionConfig} asks for. CUDA is judged by
 * the real outcome of {@code addCUDA} and of creating the session, never by
 * {@link OrtEnvironment#getAvailableProviders()}: the GPU jar lists CUDA even where the CUDA
 * libraries are missing, and then {@code addCUDA} throws. Shared by the bundle and diffusers
 * adapters; in a package the module does not export (no ONNX Runtime type is in the SDK's API).
 */
public final class SessionOpener {

    /**
     * Looked up when something is logged (only on failures and at debug level): a load that logs
     * nothing does not pay for SLF4J's start-up, about 40 ms of a fresh JVM's class loading.
     */
    private static Logger log() {
        return LoggerFactory.getLogger(SessionOpener.class);
    }

    /**
     * The CUDA fallbacks already warned about, by device and ONNX Runtime's reason: a bundle opens
     * one session per network, and a missing CUDA library fails every one of them for the same
     * reason, so the first says it and the rest are logged at debug level. Bounded: past
     * {@link #MAX_WARNED} distinct reasons every fallback warns again.
     */
    private static final java.util.Set<String> WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final int MAX_WARNED = 64;

    /** Sessions opened by {@link #open} and not yet given to {@link #close}. */
    private static final java.util.concurrent.atomic.AtomicInteger LIVE = new java.util.concurrent.atomic.AtomicInteger();

    /** Creates a session from prepared options (from a file or from bytes). */
    @FunctionalInterface
    public interface Loader {
        /**
         * Creates the session.
         *
         * @param env     the environment
         * @param options the prepared options
         * @return the session
         * @throws OrtException when ONNX Runtime cannot create it
         */
        OrtSession load(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException;
    }

    /**
     * A session with the options it was created with, the provider in use and the mapped graph the
     * session reads in place (owned by the caller, released by {@link SessionOpener#close(String, Opened)}).
     *
     * @param session  the session
     * @param options  its options (close after the session)
     * @param provider the provider it runs on (the CPU after a fallback)
     * @param graph    the mapped optimized graph the session was built on and still reads (an
     *                 ORT-format {@link GraphCache} entry; free after the session), or null
     */
    public record Opened(OrtSession session, OrtSession.SessionOptions options, ExecutionProvider provider,
                         java.nio.ByteBuffer graph) {
        /**
         * A session that holds no mapped graph.
         *
         * @param session  the session
         * @param options  its options
         * @param provider the provider it runs on
         */
        public Opened(OrtSession session, OrtSession.SessionOptions options, ExecutionProvider provider) {
            this(session, options, provider, null);
        }
    }

    private SessionOpener() {
    }

    /** Forgets the fallbacks warned about, so that the next one warns again (for tests that count warnings). */
    public static void forgetWarnings() {
        WARNED.clear();
    }

    /**
     * The sessions this process has opened through {@link #open} and not closed through
     * {@link #close}: what a test checks to see that a failed or cancelled open left none behind.
     *
     * @return the number of live sessions
     */
    public static int liveSessions() {
        return LIVE.get();
    }

    /**
     * Closes what {@link #open} returned, null meaning nothing: the session, then its options, then
     * the mapped graph the session read; each is released even when closing the one before fails.
     *
     * @param model  the model's name, for the message
     * @param opened what was opened, or null
     * @throws EDiffException naming the model when ONNX Runtime fails to close the session
     */
    public static void close(String model, Opened opened) {
        if (opened != null) {
            close(model, opened.session(), opened.options(), opened.graph());
        }
    }

    private static void close(String model, OrtSession session, OrtSession.SessionOptions options,
                              java.nio.ByteBuffer graph) {
        boolean sessionGone = false;
        try {
            if (session != null) {
                LIVE.decrementAndGet();
                session.close();
            }
            sessionGone = true;
        } catch (OrtException e) {
            throw new EDiffException(model + ": closing the ONNX Runtime session failed: " + e.getMessage(), e);
        } finally {
            try {
                if (options != null) {
                    options.close();
                }
            } finally {
                // Only once the session that reads it is gone: if closing it failed, the mapping is left
                // to the garbage collector rather than unmapped under a session that may still use it.
                if (graph != null && sessionGone) {
                    DirectMemory.free(graph);
                }
            }
        }
    }

    /**
     * A loader reading a direct buffer from its position to its limit (the buffer itself is not moved).
     *
     * @param model the serialized model in a direct buffer
     * @return the loader
     * @throws IllegalArgumentException if the buffer is not direct
     */
    public static Loader fromBuffer(java.nio.ByteBuffer model) {
        java.util.Objects.requireNonNull(model, "model");
        if (!model.isDirect()) {
            throw new IllegalArgumentException("the model buffer must be direct (ByteBuffer.allocateDirect or a mapped"
                    + " file); wrap a byte[] with the byte[] overload instead");
        }
        java.nio.ByteBuffer view = model.duplicate();
        return (e, o) -> e.createSession(view.duplicate(), o);
    }

    /**
     * Opens a session on the configured provider: CUDA when asked for and usable; else, when the
     * configuration allows the fallback, the CPU with one warning line; else a clear error.
     *
     * @param env    the environment
     * @param model  the model's name, for messages
     * @param loader creates the session from the options
     * @param config the session configuration
     * @return the session, its options and the provider in use
     * @throws EDiffException when the model cannot be loaded, or CUDA is unusable without the fallback
     */
    public static Opened open(OrtEnvironment env, String model, Loader loader, SessionConfig config) {
        return open(env, model, loader, config, null);
    }

    /**
     * As {@link #open(OrtEnvironment, String, Loader, SessionConfig)}; a CPU session of a model
     * whose verified digest is given goes through the optimized-graph cache ({@link GraphCache})
     * unless it is turned off.
     *
     * @param env    the environment
     * @param model  the model's name, for messages
     * @param loader creates the session from the options
     * @param config the session configuration
     * @param sha256 the model's verified sha256 (no external data), or null: no cache
     * @return the session, its options and the provider in use
     * @throws EDiffException when the model cannot be loaded, or CUDA is unusable without the fallback
     */
    public static Opened open(OrtEnvironment env, String model, Loader loader, SessionConfig config, String sha256) {
        NativeLibrary.prepare();
        if (config.provider() instanceof ExecutionProvider.Cuda cuda) {
            try {
                return openCuda(env, loader, config, cuda);
            } catch (OrtException | RuntimeException e) {
                String why = model + ": the CUDA execution provider (" + cuda.describe() + ") could not be used: "
                        + e.getMessage() + ". CUDA needs the com.microsoft.onnxruntime:onnxruntime_gpu artifact"
                        + " (Maven profile 'cuda') instead of onnxruntime, and the CUDA 12 and cuDNN 9 libraries on"
                        + " the library path (providers this ONNX Runtime build lists: "
                        + NativeLibrary.availableProviders() + ")";
                if (!config.allowCpuFallback()) {
                    throw new EDiffException(why + ". To run on the CPU when CUDA is missing, allow the fallback:"
                            + " LoadOptions.builder().allowCpuFallback(true) (or SessionConfig.builder()"
                            + ".allowCpuFallback(true))", e);
                }
                String reason = cuda.describe() + ": " + e.getMessage();
                if (WARNED.size() >= MAX_WARNED || WARNED.add(reason)) {
                    log().warn("{}; falling back to the CPU as the session config allows (said once per reason)", why);
                } else {
                    log().debug("{}; falling back to the CPU as the session config allows", why);
                }
            }
        }
        if (GraphCache.applies(config, sha256)) {
            try {
                GraphCache.Created c = GraphCache.open(env, model, loader, config, sha256);
                Opened opened = new Opened(c.session(), c.options(), ExecutionProvider.cpu(), c.graph());
                LIVE.incrementAndGet();
                return opened;
            } catch (OrtException | RuntimeException e) {
                throw new EDiffException(model + ": ONNX Runtime could not load the model: " + e.getMessage(), e);
            }
        }
        OrtSession.SessionOptions options = baseOptions(config);
        try {
            Opened opened = new Opened(loader.load(env, options), options, ExecutionProvider.cpu());
            LIVE.incrementAndGet();
            return opened;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw new EDiffException(model + ": ONNX Runtime could not load the model: " + e.getMessage(), e);
        }
    }

    private static Opened openCuda(OrtEnvironment env, Loader loader, SessionConfig config, ExecutionProvider.Cuda cuda)
            throws OrtException {
        OrtSession.SessionOptions options = baseOptions(config);
        try {
            // ONNX Runtime copies provider options into the session options, so they can be closed here.
            try (OrtCUDAProviderOptions cudaOptions = new OrtCUDAProviderOptions(cuda.deviceId())) {
                if (cuda.gpuMemoryLimitBytes() > 0) {
                    cudaOptions.add("gpu_mem_limit", Long.toString(cuda.gpuMemoryLimitBytes()));
                }
                options.addCUDA(cudaOptions);
            }
            Opened opened = new Opened(loader.load(env, options), options, cuda);
            LIVE.incrementAndGet();
            return opened;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    /**
     * The session options of {@code config} (threads, execution mode, arena, memory pattern, spinning).
     *
     * @param config the session configuration
     * @return new options; the caller closes them
     * @throws EDiffException when ONNX Runtime refuses them
     */
    public static OrtSession.SessionOptions baseOptions(SessionConfig config) {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setIntraOpNumThreads(config.effectiveIntraOpThreads());
            if (config.interOpThreads() > 0) {
                options.setInterOpNumThreads(config.interOpThreads());
            }
            options.setExecutionMode(config.executionMode() == SessionConfig.ExecutionMode.PARALLEL
                    ? OrtSession.SessionOptions.ExecutionMode.PARALLEL : OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setCPUArenaAllocator(config.cpuArena());
            options.setMemoryPatternOptimization(config.memoryPattern());
            String spin = config.spinning() ? "1" : "0";
            options.addConfigEntry("session.intra_op.allow_spinning", spin);
            options.addConfigEntry("session.inter_op.allow_spinning", spin);
            return options;
        } catch (OrtException e) {
            options.close();
            throw new EDiffException("invalid ONNX Runtime session options " + config + ": " + e.getMessage(), e);
        }
    }
}
