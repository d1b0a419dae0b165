package dev.ediff.onnx;

/**
 * Where ONNX Runtime executes a model: on the CPU (the default, always available) or on a CUDA
 * device. CUDA needs the {@code com.microsoft.onnxruntime:onnxruntime_gpu} artifact (Maven profile
 * {@code cuda}) and the CUDA 12 / cuDNN 9 libraries on the library path.
 */
public sealed interface ExecutionProvider {

    /** {@return the CPU provider} */
    static ExecutionProvider cpu() {
        return Cpu.INSTANCE;
    }

    /**
     * CUDA on {@code deviceId} with no memory limit beyond the device's.
     *
     * @param deviceId the CUDA device ordinal, {@code >= 0}
     * @return the provider
     */
    static ExecutionProvider cuda(int deviceId) {
        return new Cuda(deviceId, 0);
    }

    /**
     * CUDA on {@code deviceId}, its memory arena limited.
     *
     * @param deviceId            the CUDA device ordinal, {@code >= 0}
     * @param gpuMemoryLimitBytes the arena limit in bytes, 0 for none
     * @return the provider
     */
    static ExecutionProvider cuda(int deviceId, long gpuMemoryLimitBytes) {
        return new Cuda(deviceId, gpuMemoryLimitBytes);
    }

    /** {@return a short description for logs and messages, e.g. {@code CPU} or {@code CUDA:0}} */
    String describe();

    /** The CPU execution provider. */
    enum Cpu implements ExecutionProvider {
        /** The one CPU provider. */
        INSTANCE;

        @Override
        public String describe() {
            return "CPU";
        }
    }

    /**
     * The CUDA execution provider.
     *
     * @param deviceId            the CUDA device ordinal, {@code >= 0}
     * @param gpuMemoryLimitBytes the arena limit in bytes, or 0 for none
     */
    record Cuda(int deviceId, long gpuMemoryLimitBytes) implements ExecutionProvider {

        /**
         * Checks that the device id and the memory limit are {@code >= 0}.
         *
         * @param deviceId            the CUDA device ordinal, {@code >= 0}
         * @param gpuMemoryLimitBytes the arena limit in bytes, or 0 for none
         */
        public Cuda {
            if (deviceId < 0) {
                throw new IllegalArgumentException("CUDA device id must be >= 0, got " + deviceId);
            }
            if (gpuMemoryLimitBytes < 0) {
                throw new IllegalArgumentException("GPU memory limit must be >= 0 (0 = none), got " + gpuMemoryLimitBytes);
            }
        }

        @Override
        public String describe() {
            return "CUDA:" + deviceId + (gpuMemoryLimitBytes > 0 ? " (limit " + gpuMemoryLimitBytes + " bytes)" : "");
        }
    }
}
