package dev.ediff.api;

import java.util.Objects;

/**
 * How a model is loaded: the device it runs on, the threads one operator may use, and whether a
 * GPU request that cannot be met falls back to the CPU (with a warning) instead of failing.
 * Immutable; backends map it onto their own settings.
 *
 * <pre>{@code
 * LoadOptions gpuIfPresent = LoadOptions.builder().device(Device.cuda(0)).allowCpuFallback(true).build();
 * try (EDiff ediff = EDiff.openDefault(gpuIfPresent)) { ... }
 * }</pre>
 *
 * @param device           where the models run
 * @param intraOpThreads   threads inside one operator, {@code >= 0}; 0 = the backend's default
 * @param allowCpuFallback when the device is a GPU that cannot be used, run on the CPU with a warning
 */
public record LoadOptions(Device device, int intraOpThreads, boolean allowCpuFallback) {

    /** The CPU, the backend's default thread count. */
    public static final LoadOptions DEFAULT = new LoadOptions(Device.cpu(), 0, false);

    /**
     * Checks the values.
     *
     * @param device           where the models run
     * @param intraOpThreads   threads inside one operator, {@code >= 0}; 0 = the backend's default
     * @param allowCpuFallback when the device is a GPU that cannot be used, run on the CPU with a warning
     * @throws IllegalArgumentException for a negative thread count
     */
    public LoadOptions {
        Objects.requireNonNull(device, "device");
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intra-op threads must be >= 0 (0 = default), got " + intraOpThreads);
        }
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
         * The options.
         *
         * @return new options
         */
        public LoadOptions build() {
            return new LoadOptions(device, intraOpThreads, allowCpuFallback);
        }
    }
}
