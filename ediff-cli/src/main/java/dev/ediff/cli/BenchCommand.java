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

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code bench}: per-step time of a model split into model time (inside experts) and SDK time
 * (everything else: sampler, guidance, routing, tensor copies), Java bytes allocated per step, and
 * the process's resident memory.
 */
@Command(name = "bench", sortOptions = false, abbreviateSynopsis = true, header = "Benchmark a model per step.",
        description = {
        "Per-step time of a model split into model time (inside the experts) and SDK time (sampler, guidance,",
        "routing, tensor copies), Java bytes allocated per step, and resident memory."})
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
    public Integer call() {
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
        try (EDiff ediff = model.open(main.err)) {
            Request request = Request.prompt(prompt).seed(1).count(count)
                    .sampler(chosen, steps).guidance(guidance).build();
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
