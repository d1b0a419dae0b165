package dev.ediff.testkit.bench;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.ModelBundle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Soak benchmark: opens a model bundle, optionally generates one image, closes it, many times in one
 * JVM, and prints the resident memory (VmRSS, Linux) after the first cycle and at checkpoints, with the
 * Java heap in use, so that native growth shows. A server that reloads models must not see its memory
 * climb with each reload.
 *
 * <p>Usage: {@code OpenCloseSoak [cycles=100] [generate=true|false] [bundle folder; default: the
 * classpath default bundle]} ({@code -Dsoak.holdSeconds=N} keeps the process alive at the end). Columns:
 * resident memory, Java heap in use and committed, RSS minus committed heap (native memory when the
 * heap is pre-touched with {@code -Xms=-Xmx -XX:+AlwaysPreTouch}), direct buffer memory in use, Java
 * bytes allocated per cycle by this thread (the mean over the cycles since the previous row).
 * {@code -Dsoak.cpuArena=false} and {@code -Dsoak.memoryPattern=false} switch ONNX Runtime's CPU arena
 * and memory pattern off. Findings and commands: {@code docs/memory-soak.md}.
 * Target: RSS after the last cycle within 1.5x of RSS after the first.
 */
public final class OpenCloseSoak {

    private OpenCloseSoak() {
    }

    /**
     * Runs the soak and prints the table.
     *
     * @param args {@code [cycles] [generate] [bundle folder]}
     * @throws IOException when /proc cannot be read
     */
    public static void main(String[] args) throws IOException {
        int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        boolean generate = args.length <= 1 || Boolean.parseBoolean(args[1]);
        Path bundle = args.length > 2 ? Path.of(args[2]) : null;
        // -Dsoak.cpuArena=false / -Dsoak.memoryPattern=false: ONNX Runtime's per-session allocators off
        SessionConfig config = SessionConfig.builder()
                .cpuArena(Boolean.parseBoolean(System.getProperty("soak.cpuArena", "true")))
                .memoryPattern(Boolean.parseBoolean(System.getProperty("soak.memoryPattern", "true"))).build();
        System.out.printf(Locale.ROOT, "open%s/close of %s, %d cycles; cpuArena=%s memoryPattern=%s;"
                        + " MALLOC_ARENA_MAX=%s MALLOC_MMAP_THRESHOLD_=%s; max heap %d MB%n",
                generate ? "/generate" : "", bundle == null ? "the default bundle" : bundle, cycles, config.cpuArena(),
                config.memoryPattern(), System.getenv().getOrDefault("MALLOC_ARENA_MAX", "(unset)"),
                System.getenv().getOrDefault("MALLOC_MMAP_THRESHOLD_", "(unset)"),
                Runtime.getRuntime().maxMemory() >> 20);
        System.out.printf(Locale.ROOT, "%6s %10s %10s %12s %12s %10s %12s %8s%n", "cycle", "RSS MB", "heap MB",
                "committed MB", "RSS-heap MB", "direct MB", "alloc MB/cy", "RSS/1st");
        java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        int cycleBefore = 0;
        double first = 0;
        double last = 0;
        long t0 = System.nanoTime();
        for (int c = 1; c <= cycles; c++) {
            try (EDiff ediff = bundle == null
                    ? ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, config)
                    : ModelBundle.open(bundle, config)) {
                if (generate) {
                    ediff.generate(Request.prompt("a red circle").seed(c).steps(2).untilStage(
                            ediff.stages().get(0).name()).build());
                }
            }
            last = rssMegabytes();
            if (c == 1) {
                first = last;
            }
            if (c == 1 || c == 2 || c == 5 || c % 10 == 0 || c == cycles) {
                Runtime rt = Runtime.getRuntime();
                double committed = rt.totalMemory() / 1048576.0;
                long allocatedNow = threads.getCurrentThreadAllocatedBytes();
                double allocated = (allocatedNow - allocatedBefore) / 1048576.0 / (c - cycleBefore);
                allocatedBefore = allocatedNow;
                cycleBefore = c;
                System.out.printf(Locale.ROOT, "%6d %10.1f %10.1f %12.1f %12.1f %10.1f %12.1f %8.2f%n", c, last,
                        (rt.totalMemory() - rt.freeMemory()) / 1048576.0, committed, last - committed,
                        direct.getMemoryUsed() / 1048576.0, allocated, last / first);
            }
        }
        System.out.printf(Locale.ROOT, "RSS after cycle %d / after cycle 1 = %.2f (target <= 1.5); %.1f s%n", cycles,
                last / first, (System.nanoTime() - t0) / 1e9);
        long hold = Long.getLong("soak.holdSeconds", 0);
        if (hold > 0) { // time to look at the process from outside (pmap, gdb -ex 'call malloc_trim(0)')
            System.out.printf(Locale.ROOT, "holding %d s, pid %d%n", hold, ProcessHandle.current().pid());
            System.out.flush();
            try {
                Thread.sleep(hold * 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.out.printf(Locale.ROOT, "RSS after holding: %.1f MB%n", rssMegabytes());
        }
    }

    /** Resident set size of this process from /proc/self/status, in MB (NaN where there is none). */
    static double rssMegabytes() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return Double.NaN;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
