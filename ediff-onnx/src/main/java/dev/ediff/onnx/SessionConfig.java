package dev.ediff.onnx;

import dev.ediff.api.Device;
import dev.ediff.api.LoadOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How an {@link OnnxExpert} (or encoder) opens its ONNX Runtime session: the execution provider,
 * whether a failing CUDA request may fall back to the CPU, thread counts and the few session
 * options that change speed or memory. Immutable; build with {@link #builder()}.
 *
 * <p>The defaults were chosen by {@code dev.ediff.testkit.bench.SessionOptionsBenchmark} on the
 * default model (numbers in {@code docs/PERFORMANCE.md}): one thread per physical core, sequential
 * execution, ONNX Runtime's memory arena and memory pattern on, and no spinning (worker threads
 * that spin between operators burn a core each while the sampler runs in Java, for no measured
 * gain at these model sizes).
 *
 * @param provider         the provider asked for
 * @param allowCpuFallback when the provider is CUDA and CUDA cannot be used, log a warning and use
 *                         the CPU instead of failing
 * @param intraOpThreads   threads inside one operator, 0 = {@link #defaultIntraOpThreads()}
 * @param interOpThreads   threads across operators (parallel execution only), 0 = ONNX Runtime's default
 * @param executionMode    operators one after another, or independent branches in parallel
 * @param cpuArena         ONNX Runtime's CPU memory arena (faster allocation; memory is kept for reuse)
 * @param memoryPattern    plan allocations from the first run's pattern (for fixed shapes)
 * @param spinning         let idle pool threads spin for work instead of sleeping
 * @param graphCache       CPU sessions of models with a verified digest reuse the graph ONNX Runtime
 *                         optimized before, from the per-user cache (default on; the system property
 *                         {@code -Dediff.graphCache=false} turns it off for every session)
 */
public record SessionConfig(ExecutionProvider provider, boolean allowCpuFallback, int intraOpThreads,
                            int interOpThreads, ExecutionMode executionMode, boolean cpuArena, boolean memoryPattern,
                            boolean spinning, boolean graphCache) {

    /** CPU with the measured defaults. */
    public static final SessionConfig DEFAULT = builder().build();

    /** How operators are scheduled. */
    public enum ExecutionMode {
        /** One operator at a time, each using the intra-op threads. */
        SEQUENTIAL,
        /** Independent operators at once on the inter-op threads. */
        PARALLEL
    }

    /**
     * Checks that a provider and an execution mode are given and the thread counts are {@code >= 0}.
     *
     * @param provider         the provider asked for
     * @param allowCpuFallback when the provider is CUDA and CUDA cannot be used, log a warning and use
     *        the CPU instead of failing
     * @param intraOpThreads   threads inside one operator, 0 = {@link #defaultIntraOpThreads()}
     * @param interOpThreads   threads across operators (parallel execution only), 0 = ONNX Runtime's default
     * @param executionMode    operators one after another, or independent branches in parallel
     * @param cpuArena         ONNX Runtime's CPU memory arena
     * @param memoryPattern    plan allocations from the first run's pattern
     * @param spinning         let idle pool threads spin for work instead of sleeping
     * @param graphCache       reuse ONNX Runtime's optimized graphs from the per-user cache
     * @throws NullPointerException     if the provider or execution mode is null
     * @throws IllegalArgumentException if a thread count is negative
     */
    public SessionConfig {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(executionMode, "executionMode");
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = default), got intra "
                    + intraOpThreads + ", inter " + interOpThreads);
        }
    }

    /**
     * The session configuration for the backend-neutral {@link LoadOptions} of
     * {@code EDiff.open(dir, options)}: CPU or CUDA with the device's ordinal, the CPU fallback,
     * intra-op threads (0 = one per physical core; inter-op threads stay at ONNX Runtime's default); the
     * other session options keep their measured defaults.
     *
     * @param options the load options
     * @return the matching configuration
     */
    public static SessionConfig of(LoadOptions options) {
        Device d = options.device();
        return builder().provider(d.kind() == Device.Kind.CUDA ? ExecutionProvider.cuda(d.index()) : ExecutionProvider.cpu())
                .allowCpuFallback(options.allowCpuFallback()).intraOpThreads(options.intraOpThreads()).build();
    }

    /**
     * The intra-op thread count a session is opened with.
     *
     * @return {@link #intraOpThreads()}, or {@link #defaultIntraOpThreads()} when that is 0
     */
    public int effectiveIntraOpThreads() {
        return intraOpThreads > 0 ? intraOpThreads : defaultIntraOpThreads();
    }

    /**
     * One thread per physical core this process may use: the distinct (package, core) pairs of
     * {@code /proc/cpuinfo} on Linux, never more than {@link Runtime#availableProcessors()} (which
     * honours CPU affinity and container limits); elsewhere, the available processors.
     *
     * @return the default intra-op thread count, at least 1
     */
    public static int defaultIntraOpThreads() {
        int available = Runtime.getRuntime().availableProcessors();
        return Math.max(1, Math.min(available, PhysicalCores.COUNT > 0 ? PhysicalCores.COUNT : available));
    }

    /** Counted once. */
    private static final class PhysicalCores {
        static final int COUNT = count();

        private static int count() {
            try {
                List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
                Set<String> cores = new HashSet<>();
                String pkg = "0";
                for (String line : lines) {
                    int colon = line.indexOf(':');
                    if (colon < 0) {
                        continue;
                    }
                    String k = line.substring(0, colon).trim();
                    String v = line.substring(colon + 1).trim();
                    if (k.equals("physical id")) {
                        pkg = v;
                    } else if (k.equals("core id")) {
                        cores.add(pkg + ":" + v);
                    }
                }
                return cores.size();
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }
    }

    /** {@return a builder starting from CPU, no fallback needed and the measured defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder starting from this configuration} */
    public Builder toBuilder() {
        return new Builder().provider(provider).allowCpuFallback(allowCpuFallback).intraOpThreads(intraOpThreads)
                .interOpThreads(interOpThreads).executionMode(executionMode).cpuArena(cpuArena)
                .memoryPattern(memoryPattern).spinning(spinning).graphCache(graphCache);
    }

    /** Builds a {@link SessionConfig}. */
    public static final class Builder {
        private ExecutionProvider provider = ExecutionProvider.cpu();
        private boolean allowCpuFallback;
        private int intraOpThreads;
        private int interOpThreads;
        private ExecutionMode executionMode = ExecutionMode.SEQUENTIAL;
        private boolean cpuArena = true;
        private boolean memoryPattern = true;
        private boolean spinning;
        private boolean graphCache = true;

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
         * Threads used inside one operator (0, the default, = one per physical core).
         *
         * @param threads {@code >= 0}
         * @return this builder
         */
        public Builder intraOpThreads(int threads) {
            this.intraOpThreads = threads;
            return this;
        }

        /**
         * Threads used across independent operators in parallel mode (0 = ONNX Runtime's default).
         *
         * @param threads {@code >= 0}
         * @return this builder
         */
        public Builder interOpThreads(int threads) {
            this.interOpThreads = threads;
            return this;
        }

        /**
         * Sequential (default) or parallel execution of operators.
         *
         * @param mode the execution mode
         * @return this builder
         */
        public Builder executionMode(ExecutionMode mode) {
            this.executionMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * ONNX Runtime's CPU memory arena (default on).
         *
         * @param on whether to use the arena
         * @return this builder
         */
        public Builder cpuArena(boolean on) {
            this.cpuArena = on;
            return this;
        }

        /**
         * Memory pattern planning (default on).
         *
         * @param on whether to plan allocations from the first run
         * @return this builder
         */
        public Builder memoryPattern(boolean on) {
            this.memoryPattern = on;
            return this;
        }

        /**
         * Idle pool threads spin for work (default off).
         *
         * @param on whether idle threads spin
         * @return this builder
         */
        public Builder spinning(boolean on) {
            this.spinning = on;
            return this;
        }

        /**
         * Reuse the graphs ONNX Runtime optimized in an earlier session of the same model, ONNX
         * Runtime version, options and CPU, from the per-user cache (default on; CPU sessions of
         * models opened from a bundle with a verified digest and no external data). Off, every
         * session optimizes its graph again, as does {@code -Dediff.graphCache=false}.
         *
         * @param on whether to use the optimized-graph cache
         * @return this builder
         */
        public Builder graphCache(boolean on) {
            this.graphCache = on;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @return the configuration
         */
        public SessionConfig build() {
            return new SessionConfig(provider, allowCpuFallback, intraOpThreads, interOpThreads, executionMode, cpuArena,
                    memoryPattern, spinning, graphCache);
        }
    }
}
