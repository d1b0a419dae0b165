package dev.ediff.cli;

import dev.ediff.eval.EvalConfig;
import dev.ediff.eval.Evaluation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code eval}: the quality table of a prompt file under one or more configurations ({@link Evaluation}). */
@Command(name = "eval", sortOptions = false, abbreviateSynopsis = true,
        header = "Print the quality table of a prompt file.",
        description = {"Generate every prompt of PROMPTS, read the images with the judge and print the quality table",
                "(Markdown), one row per --config."},
        footer = {"",
                "--config keys: sampler, steps (1..1000), guidance (0..100), t5, clip (true/false), layout (true/false:",
                "  lay two-object prompts out, when the model declares a layout), until (stage),",
                "  paint, style (true/false: use the file's entries), style_strength (0..10, default 2), upsample (bicubic:",
                "  judge the first stage upsampled), model (DIR), paint_weight (0..10: every paint entry's weight),",
                "  sr_sampler + sr_steps, sr_steps, sr_guidance, sr_augmentation_sigma (the stages after the first),",
                "  with guidance: guidance_rescale (0..1), guidance_lo, guidance_hi (sigmas where it applies; hi may be inf).",
                "PROMPTS: one prompt a line, '#' comments; plain \"PROMPT\" or \"PROMPT<TAB>SEED\", or JSON {\"prompt\",",
                "  \"seed\", \"spec\" (else parsed from the prompt), \"paint\": {\"phrase\", \"box\": [x0,y0,x1,y1] in [0,1],",
                "  \"shape\": \"rect\"|\"ellipse\", \"weight\"}, \"style\": IMAGE (relative to the file)}; no seed:",
                "  1000000 + line number.",
                "--real DIR: PNGs of real images for the Frechet distance in mini-CLIP image space; with",
                "  DIR/labels.jsonl (prompt lines plus \"file\") a ceiling row."})
final class EvalCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    HelpOption help;

    @Parameters(paramLabel = "PROMPTS", description = "the prompt file")
    Path prompts;

    @Mixin
    ModelOptions model;

    @Option(names = "--judge", paramLabel = "FILE", description = "the judge model (default: judge/judge.onnx in the bundle)")
    Path judge;

    @Option(names = "--limit", paramLabel = "N", description = "evaluate the first N prompts only")
    Integer limit;

    @Option(names = "--count-per-prompt", paramLabel = "K",
            description = "images per prompt, 1.." + Limits.MAX_COUNT + " (default 1; seeds seed..seed+K-1)")
    int perPrompt = 1;

    @Option(names = "--config", paramLabel = "LABEL=key=value,...", description = "a row of the table; repeatable")
    List<String> configs = new ArrayList<>();

    @Option(names = "--real", paramLabel = "DIR", description = "real images for the Frechet distance")
    Path real;

    @Option(names = "--jobs", paramLabel = "N", description = "prompts made at once, 1.." + Limits.MAX_JOBS
            + " (default 1; same table, faster on a small model)")
    int jobs = 1;

    @Override
    public Integer call() {
        return Evaluation.run(options(main.err), main.out, main.err);
    }

    /** The evaluation the options describe, checked against their ranges. */
    Evaluation.Options options(PrintStream err) {
        Limits.check("--count-per-prompt", perPrompt, 1, Limits.MAX_COUNT);
        Limits.check("--jobs", jobs, 1, Limits.MAX_JOBS);
        if (model.refiner != null) {
            throw new CliException(CliException.USAGE, "--refiner is for generate, info and bench; eval runs one --model");
        }
        Evaluation.Builder b = Evaluation.Options.builder(prompts).model(model.dir).judge(judge).real(real)
                .perPrompt(perPrompt).jobs(jobs);
        if (limit != null) {
            b.limit(Limits.check("--limit", limit, 1, Integer.MAX_VALUE));
        }
        configs.forEach(c -> b.config(EvalConfig.parse(c)));
        // N prompts at once: N single-threaded generations beat one N-threaded one on a small model.
        int threads = jobs == 1 ? 0 : Math.max(1, Runtime.getRuntime().availableProcessors() / jobs);
        return b.sessions(model.sessions(err, threads)).build();
    }
}
