package dev.ediff.examples.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code ediff} command line. Exit codes: 0 success, 1 the work failed (a case failed, a
 * model error), 2 bad usage, 130 cancelled (SIGINT), 143 terminated (SIGTERM).
 */
public final class Main {

    private static final String USAGE = """
            usage: ediff <command> [options]

            commands:
              generate [PROMPT]   generate images and write PNGs (parameters in a text chunk)
                --prompt TEXT         the prompt (or give it as the positional argument)
                --negative TEXT       negative prompt
                --model DIR           a model bundle folder (default: the bundled default model)
                --seed N --count N    seed of the first image (image i uses N+i); number of images
                --sampler NAME --steps N --guidance G
                                      sampler (euler, euler_ancestral, heun, dpm_2, lms, dpmpp_2m,
                                      dpmpp_2m_sde), steps and text guidance of the base stage
                --no-t5 --no-clip     switch a text encoder off (both off: unconditional)
                --style FILE --style-strength S
                                      transfer the style of an image
                --paint "PHRASE=MASK:W"
                                      paint a phrase of the prompt: MASK is an image (white = here),
                                      rect(x0,y0,x1,y1) or ellipse(x0,y0,x1,y1) in [0,1]; repeatable
                --paint-map MAP.png --legend LEGEND.json
                                      one colour per phrase: {"#ff0000": {"phrase": "...", "weight": 0.4}}
                --until STAGE         stop after this stage; --all-stages writes every stage's images
                --out DIR --name BASE output folder and file name prefix; --overwrite replaces files
              info [--model DIR] [--check]
                                  what a bundle holds: encoders, stages, experts and their sigma
                                  intervals, tensor names; --check also opens every model
              bench [--model DIR] [--steps N] [--runs N] [--sampler S] [--count N] [--guidance G]
                                  per-step model time vs SDK time, Java bytes allocated per step,
                                  resident memory
              eval PROMPTS [--model DIR] [--judge FILE] [--limit N] [--count-per-prompt K]
                   [--config LABEL=key=value,...]... [--real DIR] [--jobs N]
                                  generate every prompt of PROMPTS, read the images with the judge
                                  (default: judge/judge.onnx in the bundle) and print the quality
                                  table (Markdown), one row per --config; keys: sampler, steps,
                                  guidance, t5, clip (true/false), until (stage), paint, style
                                  (true/false: use the file's entries), style_strength, upsample
                                  (bicubic: judge the first stage upsampled), model (DIR).
                                  --real DIR: PNGs of real images for the Frechet distance in
                                  mini-CLIP image space; with DIR/labels.jsonl (prompt lines plus
                                  "file") a ceiling row. PROMPTS: one prompt a line, '#' comments;
                                  plain "PROMPT" or "PROMPT<TAB>SEED", or JSON {"prompt", "seed",
                                  "spec" (as tools/mini/prompts/heldout.jsonl; else parsed from the
                                  prompt), "paint": {"phrase", "box": [x0,y0,x1,y1] in [0,1],
                                  "shape": "rect"|"ellipse", "weight"}, "style": IMAGE (relative to
                                  the file)}; no seed: 1000000 + line number. --jobs N: make N
                                  prompts at once (same table; faster on a small model)
              conformance DIR     run every conformance case file under DIR (sampler cases through
                                  EDiff.generate with the Java and the ONNX analytic experts,
                                  schedule lists, tokenizer cases); one line per case, then
                                  'N passed, M failed'
              help                show this text

            options:
              --verbose           print stack traces of failures

            exit codes: 0 done, 1 the work failed, 2 bad usage, 130 cancelled (Ctrl-C), 143 terminated
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(SignalExit.run(err -> run(args, System.out, err), System.err));
    }

    /** Runs a command; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> a = Arrays.asList(args);
        boolean verbose = a.contains("--verbose");
        List<String> rest = a.stream().filter(s -> !s.equals("--verbose")).toList();
        try {
            if (rest.isEmpty() || rest.get(0).equals("help") || rest.contains("--help") || rest.contains("-h")) {
                out.print(USAGE);
                return rest.isEmpty() ? CliException.USAGE : 0;
            }
            switch (rest.get(0)) {
                case "conformance" -> {
                    if (rest.size() != 2) {
                        throw new CliException(CliException.USAGE, "usage: ediff conformance DIR");
                    }
                    boolean ok = new ConformanceCommand(Backends.all(), out).run(Path.of(rest.get(1)));
                    return ok ? 0 : CliException.FAILED;
                }
                case "bench" -> {
                    return BenchCommand.run(rest.subList(1, rest.size()), out);
                }
                case "eval" -> {
                    try {
                        return dev.ediff.examples.eval.EvalCommand.run(rest.subList(1, rest.size()), out, err);
                    } catch (dev.ediff.examples.eval.EvalException e) {
                        throw new CliException(e.exitCode(), e.getMessage());
                    }
                }
                case "info" -> {
                    return InfoCommand.run(rest.subList(1, rest.size()), out);
                }
                case "generate" -> {
                    return GenerateCommand.run(rest.subList(1, rest.size()), out, err);
                }
                default -> throw new CliException(CliException.USAGE, "unknown command '" + rest.get(0)
                        + "'; run 'ediff help'");
            }
        } catch (dev.ediff.api.CancelledException e) {
            err.println();
            err.println("ediff: cancelled");
            return 130;
        } catch (CliException e) {
            err.println("ediff: " + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            }
            return e.exitCode();
        } catch (Exception e) {
            err.println("ediff: " + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            } else {
                err.println("(run with --verbose for details)");
            }
            return CliException.FAILED;
        }
    }
}
