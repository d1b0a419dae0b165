package dev.ediff.testkit.bench;

import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.ModelBundle;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Opens the default classpath bundle once in this (fresh) JVM and prints the open's wall time and
 * the process CPU time it used, with the optimized-graph cache on or off: run it in fresh JVMs,
 * one variant after another ("off", then "cold" with an empty {@code -Dediff.graphCache.dir}
 * folder, then "warm" with the folder "cold" filled), rotated round by round. Commands and numbers:
 * {@code docs/PERFORMANCE.md}, "The optimized-graph cache".
 *
 * <p>Usage: {@code GraphCacheBenchmark on|off [label] [intra-op threads, default 1] [repeat, default 0]};
 * prints one line: {@code graph-cache <label> open_wall_ms=... open_cpu_ms=... jvm_cpu_ms_before_open=...
 * cache_hits_writes_rejected=[h,w,r]}; with a repeat count it then opens the bundle that many times
 * more with the cache off and on alternately in the same JVM and prints the medians.
 */
public final class GraphCacheBenchmark {

    private GraphCacheBenchmark() {
    }

    /**
     * Opens and closes the default bundle once and prints the times.
     *
     * @param args {@code on|off [label] [threads] [repeat]}
     */
    public static void main(String[] args) {
        boolean on = args.length == 0 || !args[0].equals("off");
        String label = args.length > 1 ? args[1] : on ? "on" : "off";
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        SessionConfig config = SessionConfig.builder().intraOpThreads(threads).graphCache(on).build();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();
        try (EDiff e = ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, config)) {
            long wall = System.nanoTime() - wall0;
            long cpu = os.getProcessCpuTime() - cpu0;
            System.out.printf(Locale.ROOT, "graph-cache %s open_wall_ms=%.0f open_cpu_ms=%.0f jvm_cpu_ms_before_open=%.0f"
                    + " cache_hits_writes_rejected=%s%n", label, wall / 1e6, cpu / 1e6, cpu0 / 1e6,
                    java.util.Arrays.toString(dev.ediff.onnx.internal.GraphCache.counts()).replace(" ", ""));
        }
        int repeat = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        if (repeat > 0) {
            // then, in this JVM (compiled by now), off and on alternately: the sessions' own share
            long[][] cpus = new long[2][repeat];
            long[][] walls = new long[2][repeat];
            for (int i = 0; i < repeat; i++) {
                for (int v = 0; v < 2; v++) {
                    SessionConfig c = config.toBuilder().graphCache(v == 1).build();
                    long c0 = os.getProcessCpuTime();
                    long w0 = System.nanoTime();
                    ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, c).close();
                    walls[v][i] = System.nanoTime() - w0;
                    cpus[v][i] = os.getProcessCpuTime() - c0;
                }
            }
            for (int v = 0; v < 2; v++) {
                java.util.Arrays.sort(cpus[v]);
                java.util.Arrays.sort(walls[v]);
                System.out.printf(Locale.ROOT, "graph-cache same-JVM %s median of %d: open_wall_ms=%.0f open_cpu_ms=%.0f"
                        + " (cpu min %.0f max %.0f)%n", v == 1 ? "on" : "off", repeat, walls[v][repeat / 2] / 1e6,
                        cpus[v][repeat / 2] / 1e6, cpus[v][0] / 1e6, cpus[v][repeat - 1] / 1e6);
            }
        }
    }
}
