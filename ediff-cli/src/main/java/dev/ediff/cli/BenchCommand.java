package dev.ediff.cli;

import dev.ediff.api.Generation;
import dev.ediff.api.Request;
import dev.ediff.api.Sampler;
import dev.ediff.api.StageResult;
import dev.ediff.core.EDiff;
import dev.ediff.core.sampling.Samplers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import dev.ediff.api.Progress;
import dev.ediff.api.ProgressListener;
import dev.ediff.testkit.bench.LoadSplit;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bench}: what loading costs part by part (cold), per-step time of a model split into model
 * time (inside experts) and SDK time (everything else: sampler, guidance, routing, tensor copies),
 * Java bytes allocated per step (measured between consecutive steps), per generation, and the
 * process's resident and peak memory.
 */
@Command(name = "bench", sortOptions = false, abbreviateSynopsis = true, header = "Benchmark a model per step.",
        description = {
        "Loading time part by part (cold), per-step time of a model split into model time (inside the experts)",
        "and SDK time (sampler, guidance, routing, tensor copies), Java bytes allocated per step (measured",
        "between steps) and per generation, and resident and peak memory."})
final class BenchCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    HelpOption help;

    @Mixin
    ModelOptions model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt (default: a fixed two-object prompt)")
    String prompt = "a small red circle above a large blue square";

    @Option(names = "--steps", paramLabel = "N", description = "steps per stage, 1.." + Limits.MAX_STEPS + " (default 20)")
    int steps = 20;

    @Option(names = "--runs", paramLabel = "N", description = "timed runs after one warm-up, 1.." + Limits.MAX_RUNS
            + " (default 3)")
    int runs = 3;

    @Option(names = "--sampler", paramLabel = "NAME", description = "sampler (default dpmpp_2m)")
    String sampler = "dpmpp_2m";

    @Option(names = "--count", paramLabel = "N", description = "batch size, 1.." + Limits.MAX_COUNT + " (default 1)")
    int count = 1;

    @Option(names = "--guidance", paramLabel = "G", description = "text guidance, 0..100 (default 3)")
    double guidance = 3.0;

    @Override
    public Integer call() throws Exception {
        PrintStream out = main.out;
        Limits.check("--steps", steps, 1, Limits.MAX_STEPS);
        Limits.check("--runs", runs, 1, Limits.MAX_RUNS);
        Limits.check("--count", count, 1, Limits.MAX_COUNT);
        Limits.check("--guidance", guidance, 0, Limits.MAX_GUIDANCE);
        Sampler chosen;
        try {
            chosen = Samplers.byName(sampler);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "--sampler: " + e.getMessage());
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // Loading, part by part, first in this JVM (so cold): a bundle only (a diffusers folder has no parts list).
        List<LoadSplit.Part> parts = List.of();
        if (!model.isDiffusers()) {
            parts = LoadSplit.measure(model.dir, model.sessions(main.err, 0));
        }
        double cpu0 = LoadSplit.processCpuSeconds();
        long t0 = System.nanoTime();
        try (EDiff ediff = model.open(main.err)) {
            double openWall = (System.nanoTime() - t0) / 1e9;
            double openCpu = LoadSplit.processCpuSeconds() - cpu0;
            if (!parts.isEmpty()) {
                out.printf(Locale.ROOT, "loading, part by part (cold, the first thing this JVM did):%n");
                out.printf(Locale.ROOT, "  %-66s %9s %9s%n", "part", "wall ms", "CPU ms");
                for (LoadSplit.Part p : parts) {
                    out.printf(Locale.ROOT, "  %-66s %9.1f %9.1f%n", p.name(), p.wallSeconds() * 1e3, p.cpuSeconds() * 1e3);
                }
            }
            out.printf(Locale.ROOT, "opening the model%s: %.1f ms wall, %.1f ms CPU%n",
                    parts.isEmpty() ? "" : " (after the parts above, so warm)", openWall * 1e3, openCpu * 1e3);
            StepAllocation steps0 = new StepAllocation(mx);
            Request request = Request.prompt(prompt).seed(1).count(count)
                    .sampler(chosen, steps).guidance(guidance).onProgress(steps0).build();
            ediff.generate(request); // warm-up: JIT, ONNX Runtime allocations, encoder caches
            out.printf(Locale.ROOT, "model %s, %s, %d steps, batch %d, guidance %s, %d timed run(s)%n", ediff.name(),
                    sampler, steps, count, guidance, runs);
            out.printf(Locale.ROOT, "%-8s %12s %12s %10s %16s%n", "stage", "model ms/st", "SDK ms/st", "SDK share",
                    "alloc bytes/st");
            for (int r = 0; r < runs; r++) {
                steps0.reset();
                long before = mx.getCurrentThreadAllocatedBytes();
                Generation g = ediff.generate(request);
                long allocated = mx.getCurrentThreadAllocatedBytes() - before;
                for (StageResult s : g.stages()) {
                    double model = s.modelTime().toNanos() / 1e6 / s.steps();
                    double sdk = (s.total().toNanos() - s.modelTime().toNanos()) / 1e6 / s.steps();
                    out.printf(Locale.ROOT, "%-8s %12.3f %12.3f %9.1f%% %16s%n", s.stage(), model, sdk,
                            100 * sdk / (model + sdk), steps0.median(s.stage()));
                }
                out.printf(Locale.ROOT, "  whole generation: %.1f KB allocated (batch %d; images, conditioning and"
                        + " per-stage set-up included)%n", allocated / 1024.0, count);
            }
            out.printf(Locale.ROOT, "resident memory %s; Java heap used %.1f MB%n", rss(),
                    (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1e6);
        }
        return 0;
    }

    /**
     * Bytes the generating thread allocates per sampling step: read at every step's progress call,
     * the difference between consecutive steps of one stage (the step's model call, sampler and
     * guidance arithmetic, and the progress report itself).
     */
    private static final class StepAllocation implements ProgressListener {
        private final com.sun.management.ThreadMXBean mx;
        private final Map<String, long[]> perStage = new LinkedHashMap<>(); // stage -> deltas (index 0 = count)
        private String stage;
        private int step = -1;
        private long last;

        StepAllocation(com.sun.management.ThreadMXBean mx) {
            this.mx = mx;
        }

        void reset() {
            perStage.clear();
            stage = null;
            step = -1;
        }

        @Override
        public void onProgress(Progress p) {
            long now = mx.getCurrentThreadAllocatedBytes();
            if (p.stage().equals(stage) && p.step() == step + 1) {
                long[] d = perStage.computeIfAbsent(stage, k -> new long[Limits.MAX_STEPS + 1]);
                if (d[0] < d.length - 1) {
                    d[(int) ++d[0]] = now - last;
                }
            }
            stage = p.stage();
            step = p.step();
            last = mx.getCurrentThreadAllocatedBytes(); // after this listener's own work
        }

        /** The median bytes per step of a stage, or "-" with fewer than two steps. */
        String median(String name) {
            long[] d = perStage.get(name);
            if (d == null || d[0] == 0) {
                return "-";
            }
            long[] v = Arrays.copyOfRange(d, 1, (int) d[0] + 1);
            Arrays.sort(v);
            return Long.toString(v[v.length / 2]);
        }
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
