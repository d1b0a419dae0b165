package dev.ediff.onnx;

import dev.ediff.api.Device;
import dev.ediff.api.LoadOptions;

import java.util.Objects;

/**
 * How an {@link OnnxExpert} opens its ONNX Runtime session: the execution provider, whether a
 * failing CUDA request may fall back to the CPU, and thread counts. Immutable; build with
 * {@link #builder()}.
 *
 * @param provider         the provider asked for
 * @param allowCpuFallback when the provider is CUDA and CUDA cannot be used, log a warning and use
 *                         the CPU instead of failing
 * @param intraOpThreads   threads inside one operator, 0 = ONNX Runtime's default
 * @param interOpThreads   threads across operators, 0 = ONNX Runtime's default
 */
public record SessionConfig(ExecutionProvider provider, boolean allowCpuFallback, int intraOpThreads,
                            int interOpThreads) {

    /** CPU, default thread counts. */
    public static final SessionConfig DEFAULT = builder().build();

    /**
     * Checks that a provider is given and the thread counts are {@code >= 0}.
     *
     * @param provider         the provider asked for
     * @param allowCpuFallback when the provider is CUDA and CUDA cannot be used, log a warning and use
     *        the CPU instead of failing
     * @param intraOpThreads   threads inside one operator, 0 = ONNX Runtime's default
     * @param interOpThreads   threads across operators, 0 = ONNX Runtime's default
     */
    public SessionConfig {
        Objects.requireNonNull(provider, "provider");
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = default), got intra "
                    + intraOpThreads + ", inter " + interOpThreads);
        }
    }

    /**
     * The session configuration for the backend-neutral {@link LoadOptions} of
     * {@code EDiff.open(dir, options)}: CPU or CUDA with the device's ordinal, the CPU fallback,
     * intra-op threads (inter-op threads stay at ONNX Runtime's default).
     *
     * @param options the load options
     * @return the matching configuration
     */
    public static SessionConfig of(LoadOptions options) {
        Device d = options.device();
        return builder().provider(d.kind() == Device.Kind.CUDA ? ExecutionProvider.cuda(d.index()) : ExecutionProvider.cpu())
                .allowCpuFallback(options.allowCpuFallback()).intraOpThreads(options.intraOpThreads()).build();
    }

    /** {@return a builder starting from CPU, no fallback needed, default thread counts} */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link SessionConfig}. */
    public static final class Builder {
        private ExecutionProvider provider = ExecutionProvider.cpu();
        private boolean allowCpuFallback;
        private int intraOpThreads;
        private int interOpThreads;

        private Builder() {
        }

        /**
         * The execution provider (default CPU).
         *
         * @param provider the provider
         * @return this builder
         */
        public Builder provider(ExecutionProvider provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /**
         * Let a CUDA request that cannot be satisfied fall back to the CPU with a warning (default false).
         *
         * @param allow whether to fall back
         * @return this builder
         */
        public Builder allowCpuFallback(boolean allow) {
            this.allowCpuFallback = allow;
            return this;
        }

        /**
         * Threads used inside one operator (0 = ONNX Runtime's default).
         *
         * @param threads {@code >= 0}
         * @return this builder
         */
        public Builder intraOpThreads(int threads) {
            this.intraOpThreads = threads;
            return this;
        }

        /**
         * Threads used across independent operators (0 = ONNX Runtime's default).
         *
         * @param threads {@code >= 0}
         * @return this builder
         */
        public Builder interOpThreads(int threads) {
            this.interOpThreads = threads;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @return the configuration
         */
        public SessionConfig build() {
            return new SessionConfig(provider, allowCpuFallback, intraOpThreads, interOpThreads);
        }
    }
}
