package dev.ediff.cli;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.StageResult;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code bench}: per-step time of a model split into model time (inside experts) and SDK time
 * (everything else: sampler, guidance, routing, tensor copies), Java bytes allocated per step, and
 * the process's resident memory.
 */
final class BenchCommand {

    private BenchCommand() {
    }

    static int run(List<String> argv, PrintStream out) {
        Args a = new Args(argv, Set.of("model", "steps", "runs", "sampler", "count", "guidance", "prompt"), Set.of());
        int steps = a.integer("steps", 20, 1);
        int runs = a.integer("runs", 3, 1);
        int count = a.integer("count", 1, 1);
        double guidance = a.number("guidance", 3.0);
        String sampler = a.get("sampler", "dpmpp_2m");
        String prompt = a.get("prompt", "a small red circle above a large blue square");
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (EDiff ediff = a.has("model") ? EDiff.open(Path.of(a.get("model", ""))) : EDiff.openDefault()) {
            Request request = Request.prompt(prompt).seed(1).count(count)
                    .sampler(Samplers.byName(sampler), steps).guidance(guidance).build();
            ediff.generate(request); // warm-up: JIT, ONNX Runtime allocations, encoder caches
            out.printf("model %s, %s, %d steps, batch %d, guidance %s, %d timed run(s)%n", ediff.name(), sampler, steps,
                    count, guidance, runs);
            out.printf("%-8s %12s %12s %10s %14s%n", "stage", "model ms/st", "SDK ms/st", "SDK share", "alloc KB/st");
            for (int r = 0; r < runs; r++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                Generation g = ediff.generate(request);
                long allocated = mx.getCurrentThreadAllocatedBytes() - before;
                int totalSteps = g.stages().stream().mapToInt(StageResult::steps).sum();
                for (StageResult s : g.stages()) {
                    double model = s.modelTime().toNanos() / 1e6 / s.steps();
                    double sdk = (s.total().toNanos() - s.modelTime().toNanos()) / 1e6 / s.steps();
                    out.printf("%-8s %12.3f %12.3f %9.1f%% %14.1f%n", s.stage(), model, sdk, 100 * sdk / (model + sdk),
                            allocated / 1024.0 / totalSteps);
                }
            }
            out.printf("resident memory %s; Java heap used %.1f MB%n", rss(),
                    (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1e6);
        }
        return 0;
    }

    /** VmRSS and VmHWM from /proc (Linux), or "n/a". */
    private static String rss() {
        try {
            String rss = null;
            String peak = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = line.substring(6).trim();
                } else if (line.startsWith("VmHWM:")) {
                    peak = line.substring(6).trim();
                }
            }
            return rss == null ? "n/a" : rss + " (peak " + peak + ")";
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
