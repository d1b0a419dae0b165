package dev.ediff.api;

import java.util.Objects;

/**
 * How a model is loaded: the device it runs on, the threads one operator may use, whether a
 * GPU request that cannot be met falls back to the CPU (with a warning) instead of failing, and
 * when its networks are resident in memory ({@link MemoryMode}). Immutable; backends map it onto
 * their own settings.
 *
 * <pre>{@code
 * LoadOptions gpuIfPresent = LoadOptions.builder().device(Device.cuda(0)).allowCpuFallback(true).build();
 * try (EDiff ediff = EDiff.openDefault(gpuIfPresent)) { ... }
 * // an SDXL base + refiner that never holds both U-Nets at once
 * LoadOptions small = LoadOptions.builder().memory(MemoryMode.LAZY).build();
 * }</pre>
 *
 * @param device           where the models run
 * @param intraOpThreads   threads inside one operator, {@code >= 0}; 0 = the backend's default
 * @param allowCpuFallback when the device is a GPU that cannot be used, run on the CPU with a warning
 * @param memory           when the networks are resident (default {@link MemoryMode#RESIDENT})
 */
public record LoadOptions(Device device, int intraOpThreads, boolean allowCpuFallback, MemoryMode memory) {

    /** The CPU, the backend's default thread count, every network resident. */
    public static final LoadOptions DEFAULT = new LoadOptions(Device.cpu(), 0, false, MemoryMode.RESIDENT);

    /**
     * Checks the values.
     *
     * @param device           where the models run
     * @param intraOpThreads   threads inside one operator, {@code >= 0}; 0 = the backend's default
     * @param allowCpuFallback when the device is a GPU that cannot be used, run on the CPU with a warning
     * @param memory           when the networks are resident
     * @throws IllegalArgumentException for a negative thread count
     */
    public LoadOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(memory, "memory");
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intra-op threads must be >= 0 (0 = default), got " + intraOpThreads);
        }
    }

    /**
     * Options with every network resident ({@link MemoryMode#RESIDENT}).
     *
     * @param device           where the models run
     * @param intraOpThreads   threads inside one operator, {@code >= 0}; 0 = the backend's default
     * @param allowCpuFallback when the device is a GPU that cannot be used, run on the CPU with a warning
     * @throws IllegalArgumentException for a negative thread count
     */
    public LoadOptions(Device device, int intraOpThreads, boolean allowCpuFallback) {
        this(device, intraOpThreads, allowCpuFallback, MemoryMode.RESIDENT);
    }

    /**
     * A builder starting from {@link #DEFAULT}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link LoadOptions}. */
    public static final class Builder {
        private Device device = Device.cpu();
        private int intraOpThreads;
        private boolean allowCpuFallback;
        private MemoryMode memory = MemoryMode.RESIDENT;

        private Builder() {
        }

        /**
         * The device (default: the CPU).
         *
         * @param device where the models run
         * @return this builder
         */
        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /**
         * Threads inside one operator (default 0: the backend's default).
         *
         * @param threads {@code >= 0}
         * @return this builder
         */
        public Builder intraOpThreads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("intra-op threads must be >= 0 (0 = default), got " + threads);
            }
            this.intraOpThreads = threads;
            return this;
        }

        /**
         * Whether a GPU that cannot be used falls back to the CPU with a warning (default false: fail).
         *
         * @param allow true to fall back
         * @return this builder
         */
        public Builder allowCpuFallback(boolean allow) {
            this.allowCpuFallback = allow;
            return this;
        }

        /**
         * When the networks are resident (default {@link MemoryMode#RESIDENT}: all of them, from open
         * to close); {@link MemoryMode#LAZY} keeps only what a running generation needs.
         *
         * @param mode the memory mode
         * @return this builder
         */
        public Builder memory(MemoryMode mode) {
            this.memory = Objects.requireNonNull(mode, "memory");
            return this;
        }

        /**
         * The options.
         *
         * @return new options
         */
        public LoadOptions build() {
            return new LoadOptions(device, intraOpThreads, allowCpuFallback, memory);
        }
    }
}
