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
 * @param clipSkip         how many final CLIP layers the prompt's text conditioning skips (0: none;
 *                         diffusers' {@code clip_skip}); only models whose CLIP encoders expose their
 *                         hidden states take it (SDXL and SD3 folders), others refuse it at open
 */
public record LoadOptions(Device device, int intraOpThreads, boolean allowCpuFallback, MemoryMode memory, int clipSkip) {

    /** The CPU, the backend's default thread count, every network resident. */
    public static final LoadOptions DEFAULT = new LoadOptions(Device.cpu(), 0, false, MemoryMode.RESIDENT, 0);

    /**
     * Checks the values.
     *
     * @param device           where the models run
     * @param intraOpThreads   threads inside one operator, {@code >= 0}; 0 = the backend's default
     * @param allowCpuFallback when the device is a GPU that cannot be used, run on the CPU with a warning
     * @param memory           when the networks are resident
     * @param clipSkip         final CLIP layers the prompt skips, {@code >= 0}
     * @throws IllegalArgumentException for a negative thread count or clip skip
     */
    public LoadOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(memory, "memory");
        if (clipSkip < 0) {
            throw new IllegalArgumentException("clip skip must be >= 0 (0 = none), got " + clipSkip);
        }
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
        this(device, intraOpThreads, allowCpuFallback, MemoryMode.RESIDENT, 0);
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
        private int clipSkip;

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
         * Clip skip (default 0), as diffusers' {@code clip_skip}: 1 conditions the prompt on the
         * CLIP layer before the one the model normally uses (for SDXL and SD3, whose pipelines take
         * the penultimate layer, the one before that), the negative prompt unchanged.
         *
         * @param layers {@code >= 0}
         * @return this builder
         */
        public Builder clipSkip(int layers) {
            if (layers < 0) {
                throw new IllegalArgumentException("clip skip must be >= 0 (0 = none), got " + layers);
            }
            this.clipSkip = layers;
            return this;
        }

        /**
         * The options.
         *
         * @return new options
         */
        public LoadOptions build() {
            return new LoadOptions(device, intraOpThreads, allowCpuFallback, memory, clipSkip);
        }
    }
}
