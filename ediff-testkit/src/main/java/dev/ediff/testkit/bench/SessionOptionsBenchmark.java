package dev.ediff.testkit.bench;

import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.ModelBundle;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Whole generations of a model under each session option that {@link SessionConfig} exposes, one
 * changed at a time from ONNX Runtime's own defaults, in interleaved rounds (the variant order
 * rotates) so that other load on the machine spreads over all of them. Prints, per variant, the
 * median wall time and process CPU time of a generation at each batch size: the table behind the
 * defaults of {@link SessionConfig}.
 *
 * <p>Usage: {@code SessionOptionsBenchmark [--model DIR] [--batches 1,4] [--rounds 5]}
 */
public final class SessionOptionsBenchmark {

    private SessionOptionsBenchmark() {
    }

    /**
     * Runs every variant and prints the table.
     *
     * @param args the options in the class description
     */
    public static void main(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "5"));
        int[] batches = Arrays.stream(a.getOrDefault("batches", "1,4").split(",")).mapToInt(Integer::parseInt).toArray();
        int cores = SessionConfig.defaultIntraOpThreads();
        SessionConfig ort = SessionConfig.builder().intraOpThreads(cores).spinning(true).build();
        Map<String, SessionConfig> variants = new LinkedHashMap<>();
        variants.put("ORT defaults (" + cores + " threads, spinning, arena, pattern, sequential)", ort);
        variants.put("no spinning", ort.toBuilder().spinning(false).build());
        variants.put("no CPU arena", ort.toBuilder().cpuArena(false).build());
        variants.put("no memory pattern", ort.toBuilder().memoryPattern(false).build());
        variants.put("parallel execution", ort.toBuilder().executionMode(SessionConfig.ExecutionMode.PARALLEL).build());
        variants.put("1 thread, no spinning", ort.toBuilder().intraOpThreads(1).spinning(false).build());
        variants.put("SDK defaults", SessionConfig.DEFAULT);
        List<String> names = new ArrayList<>(variants.keySet());
        Map<String, EDiff> open = new LinkedHashMap<>();
        Map<String, double[][]> wall = new LinkedHashMap<>();
        Map<String, double[][]> cpu = new LinkedHashMap<>();
        try {
            for (String n : names) {
                open.put(n, a.containsKey("model") ? ModelBundle.open(Path.of(a.get("model")), variants.get(n))
                        : ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, variants.get(n)));
                wall.put(n, new double[batches.length][rounds]);
                cpu.put(n, new double[batches.length][rounds]);
                for (int b : batches) {
                    open.get(n).generate(Request.prompt("a small red circle").seed(1).count(b).build()); // warm-up
                }
            }
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < names.size(); k++) {
                    String n = names.get((k + r) % names.size());
                    for (int bi = 0; bi < batches.length; bi++) {
                        Request req = Request.prompt("a small red circle above a large blue square").seed(42 + r)
                                .count(batches[bi]).build();
                        double c = PipelineBenchmark.processCpuSeconds();
                        long t = System.nanoTime();
                        open.get(n).generate(req);
                        wall.get(n)[bi][r] = (System.nanoTime() - t) / 1e9;
                        cpu.get(n)[bi][r] = PipelineBenchmark.processCpuSeconds() - c;
                    }
                }
            }
        } finally {
            open.values().forEach(EDiff::close);
        }
        System.out.printf(Locale.ROOT, "%d rounds, medians of one generation (wall s / process CPU s), %d physical core(s)%n",
                rounds, cores);
        StringBuilder head = new StringBuilder("| variant |");
        StringBuilder rule = new StringBuilder("|---|");
        for (int b : batches) {
            head.append(" batch ").append(b).append(" wall | batch ").append(b).append(" CPU |");
            rule.append("---:|---:|");
        }
        System.out.println(head);
        System.out.println(rule);
        for (String n : names) {
            StringBuilder row = new StringBuilder("| " + n + " |");
            for (int bi = 0; bi < batches.length; bi++) {
                row.append(String.format(Locale.ROOT, " %.3f | %.3f |", median(wall.get(n)[bi]), median(cpu.get(n)[bi])));
            }
            System.out.println(row);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
