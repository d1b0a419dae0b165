package dev.ediff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.core.schedule.Schedules;
import dev.ediff.core.text.ClipTokenizer;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.core.text.TokenizerConformance;
import dev.ediff.core.text.Tokenizers;
import dev.ediff.testkit.analytic.GaussianMixtureExpert;
import dev.ediff.testkit.conformance.ConformanceRunner;
import dev.ediff.testkit.conformance.SamplerCase;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code conformance DIR}: runs every conformance case file found under DIR (any name, any
 * nesting), recognising each JSON file by its content: a sampler case (has {@code sampler} and
 * {@code x_final}), a schedule list (has {@code schedules}), or a tokenizer case list (an array of
 * {@code {"text", "ids"}}). Each sampler case runs through {@code EDiff.generate} once per backend.
 * Tokenizer cases run with the {@code tokenizer.json} in the same folder when there is one, otherwise
 * with the real CLIP vocabulary. Prints one line per case and a final {@code N passed, M failed}.
 */
@Command(name = "conformance", header = "Run the conformance cases under a folder.", description = {
        "Run every conformance case file under DIR: sampler cases through EDiff.generate with the Java and the",
        "ONNX analytic experts, schedule lists, tokenizer cases. One line per case, then 'N passed, M failed'."})
final class ConformanceCommand implements Callable<Integer> {

    /** A backend to run sampler cases with: its expert factory and tolerance. */
    record Backend(String name, ConformanceRunner.ExpertFactory factory, double tolerance) {
    }

    @ParentCommand
    Main main;

    @Mixin
    HelpOption help;

    @Parameters(paramLabel = "DIR", description = "a folder of case files (any names, any nesting)")
    Path dir;

    // made when the command runs: picocli instantiates every subcommand for any command line, and a
    // first ObjectMapper costs ~0.3 s of a cold start (docs/PERFORMANCE.md, "Session 5")
    private ObjectMapper mapper;
    private List<Backend> backends;
    private PrintStream out;
    private int passed;
    private int failed;

    /** The command, for picocli. */
    ConformanceCommand() {
    }

    ConformanceCommand(List<Backend> backends, PrintStream out) {
        this.backends = backends;
        this.out = out;
    }

    @Override
    public Integer call() throws IOException {
        return new ConformanceCommand(Backends.all(), main.out).run(dir) ? 0 : CliException.FAILED;
    }

    /** The Java backend: the exact mixture denoiser in double precision. */
    static Backend javaBackend() {
        return new Backend("java", (name, mixtures, shape) -> new GaussianMixtureExpert(name, mixtures), 1e-9);
    }

    /** Runs everything under {@code dir}; returns true when all passed. */
    boolean run(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new CliException(CliException.USAGE, "conformance: '" + dir + "' is not a directory");
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json") && Files.isRegularFile(p)).sorted().toList();
        }
        if (mapper == null) {
            mapper = new ObjectMapper();
        }
        for (Path f : files) {
            JsonNode root;
            try {
                root = mapper.readTree(f.toFile());
            } catch (IOException e) {
                report(dir.relativize(f).toString(), false, Double.NaN, "unreadable JSON: " + e.getMessage());
                continue;
            }
            String rel = dir.relativize(f).toString();
            if (root.isObject() && root.has("sampler") && root.has("x_final")) {
                runSamplerCase(f, rel);
            } else if (root.isObject() && root.has("schedules")) {
                runSchedules(root, rel);
            } else if (isTokenizerCases(root)) {
                runTokenizerCases(f, root, rel);
            }
        }
        out.printf("%d passed, %d failed%n", passed, failed);
        return failed == 0;
    }

    private void runSamplerCase(Path f, String rel) {
        SamplerCase c;
        try {
            c = SamplerCase.read(f, mapper);
        } catch (IOException | RuntimeException e) {
            report(rel, false, Double.NaN, "cannot read case: " + e.getMessage());
            return;
        }
        for (Backend b : backends) {
            ConformanceRunner.Result r = new ConformanceRunner(b.factory(), b.tolerance()).run(c);
            report(r.name() + " [" + b.name() + "]", r.passed(), r.maxError(), r.detail());
        }
    }

    private void runSchedules(JsonNode root, String rel) {
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (JsonNode s : root.get("schedules")) {
            String kind = s.path("kind").asText();
            int n = s.path("n").asInt();
            String name = rel + "#" + kind + "-" + n;
            int k = seen.merge(name, 1, Integer::sum);
            if (k > 1) {
                name += "-" + k;
            }
            try {
                NoiseSchedule schedule = switch (kind) {
                    case "karras" -> Schedules.karras(s.get("sigma_min").asDouble(), s.get("sigma_max").asDouble(),
                            s.get("rho").asDouble());
                    case "exponential" -> Schedules.exponential(s.get("sigma_min").asDouble(), s.get("sigma_max").asDouble());
                    default -> throw new IllegalArgumentException("unknown schedule kind '" + kind + "'");
                };
                double[] actual = schedule.sigmas(n);
                List<Double> expected = new ArrayList<>();
                s.get("sigmas").forEach(v -> expected.add(v.asDouble()));
                double err = actual.length == expected.size() ? 0 : Double.POSITIVE_INFINITY;
                for (int i = 0; i < Math.min(actual.length, expected.size()); i++) {
                    double e = expected.get(i);
                    err = Math.max(err, e == 0 ? Math.abs(actual[i]) : Math.abs(actual[i] - e) / Math.abs(e));
                }
                report(name, err <= 1e-12, err, err <= 1e-12 ? "" : "relative error above 1e-12");
            } catch (RuntimeException e) {
                report(name, false, Double.NaN, e.getMessage());
            }
        }
    }

    private static boolean isTokenizerCases(JsonNode root) {
        if (!root.isArray() || root.isEmpty()) {
            return false;
        }
        for (JsonNode c : root) {
            if (!c.isObject() || !c.path("text").isTextual() || !c.path("ids").isArray()) {
                return false;
            }
        }
        return true;
    }

    private void runTokenizerCases(Path file, JsonNode root, String rel) {
        Path beside = file.resolveSibling("tokenizer.json");
        Tokenizer tokenizer;
        try {
            tokenizer = Files.isRegularFile(beside) ? Tokenizers.load(beside) : ClipTokenizer.standard();
        } catch (RuntimeException e) {
            report(rel, false, Double.NaN, "cannot load the tokenizer: " + e.getMessage());
            return;
        }
        List<TokenizerConformance.CaseResult> results;
        try {
            results = TokenizerConformance.run(tokenizer, root, rel);
        } catch (RuntimeException e) {
            report(rel, false, Double.NaN, e.getMessage());
            return;
        }
        for (TokenizerConformance.CaseResult r : results) {
            String text = r.text().length() > 24 ? r.text().substring(0, 24) + "..." : r.text();
            report(rel + "#" + r.index() + " " + text.replaceAll("\\s", " "), r.passed(), r.passed() ? 0 : 1,
                    r.detail());
        }
    }

    /** Records and prints one case line. */
    void report(String name, boolean ok, double maxError, String detail) {
        if (ok) {
            passed++;
        } else {
            failed++;
        }
        out.printf("%-44s %s  max error %.3g%s%n", name, ok ? "PASS" : "FAIL", maxError,
                detail == null || detail.isEmpty() ? "" : "  (" + detail + ")");
    }
}
