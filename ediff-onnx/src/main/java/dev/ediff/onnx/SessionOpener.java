package dev.ediff.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import dev.ediff.api.EDiffException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens an {@link OrtSession} on the provider a {@link SessionConfig} asks for. CUDA is judged by
 * the real outcome of {@code addCUDA} and of creating the session, never by
 * {@link OrtEnvironment#getAvailableProviders()}: the GPU jar lists CUDA even where the CUDA
 * libraries are missing, and then {@code addCUDA} throws.
 */
final class SessionOpener {

    private static final Logger LOG = LoggerFactory.getLogger(SessionOpener.class);

    /** Creates a session from prepared options (from a file or from bytes). */
    @FunctionalInterface
    interface Loader {
        OrtSession load(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException;
    }

    /** A session with the options it was created with (both owned by the caller) and the provider in use. */
    record Opened(OrtSession session, OrtSession.SessionOptions options, ExecutionProvider provider) {
    }

    private SessionOpener() {
    }

    /** A loader reading a direct buffer from its position to its limit (the buffer itself is not moved). */
    static Loader fromBuffer(java.nio.ByteBuffer model) {
        java.util.Objects.requireNonNull(model, "model");
        if (!model.isDirect()) {
            throw new IllegalArgumentException("the model buffer must be direct (ByteBuffer.allocateDirect or a mapped"
                    + " file); wrap a byte[] with the byte[] overload instead");
        }
        java.nio.ByteBuffer view = model.duplicate();
        return (e, o) -> e.createSession(view.duplicate(), o);
    }

    static Opened open(OrtEnvironment env, String model, Loader loader, SessionConfig config) {
        NativeLibrary.prepare();
        if (config.provider() instanceof ExecutionProvider.Cuda cuda) {
            try {
                return openCuda(env, loader, config, cuda);
            } catch (OrtException | RuntimeException e) {
                String why = model + ": the CUDA execution provider (" + cuda.describe() + ") could not be used: "
                        + e.getMessage() + ". CUDA needs the com.microsoft.onnxruntime:onnxruntime_gpu artifact"
                        + " (Maven profile 'cuda') instead of onnxruntime, and the CUDA 12 and cuDNN 9 libraries on"
                        + " the library path (providers this ONNX Runtime build lists: "
                        + OrtEnvironment.getAvailableProviders() + ")";
                if (!config.allowCpuFallback()) {
                    throw new EDiffException(why + ". To run on the CPU when CUDA is missing, allow the fallback:"
                            + " LoadOptions.builder().allowCpuFallback(true) (or SessionConfig.builder()"
                            + ".allowCpuFallback(true))", e);
                }
                LOG.warn("{}; falling back to the CPU as the session config allows", why);
            }
        }
        OrtSession.SessionOptions options = baseOptions(config);
        try {
            return new Opened(loader.load(env, options), options, ExecutionProvider.cpu());
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
            return new Opened(loader.load(env, options), options, cuda);
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    /** The session options of {@code config}; package-visible for the options benchmark. */
    static OrtSession.SessionOptions baseOptions(SessionConfig config) {
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
