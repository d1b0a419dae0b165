package dev.ediff.cli;

import dev.ediff.api.CancellationToken;
import dev.ediff.api.Generation;
import dev.ediff.api.Guidance;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.Truncation;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;
import dev.ediff.core.sampling.Samplers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code generate}: prompt to PNG files, with the bundled default model, a bundle folder or a diffusers folder. */
@Command(name = "generate", sortOptions = false, abbreviateSynopsis = true,
        header = "Generate images and write PNGs.",
        description = {"Writes one PNG per image, the generation parameters in its text chunks; never replaces a file"
                + " without --overwrite."})
final class GenerateCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    HelpOption help;

    @Parameters(paramLabel = "PROMPT", arity = "0..*",
            description = "the prompt (the words are joined with spaces); '-' alone reads it from standard input")
    List<String> words = new ArrayList<>();

    @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt (instead of PROMPT)")
    String prompt;

    @Option(names = "--prompt-file", paramLabel = "FILE",
            description = "read the prompt from a UTF-8 file ('-': standard input), for long prompts")
    String promptFile;

    @Option(names = "--negative", paramLabel = "TEXT", description = "negative prompt")
    String negative; // null: none given (SDXL zeroes the negative branch then, but encodes an explicit "")

    @Mixin
    ModelOptions model;

    @Option(names = "--seed", paramLabel = "N", description = "seed of the first image; image i uses N+i")
    Long seed;

    @Option(names = "--count", paramLabel = "N", description = "number of images, 1.." + Limits.MAX_COUNT + " (default 1)")
    int count = 1;

    @Option(names = "--sampler", paramLabel = "NAME",
            description = "sampler of the base stage: euler, euler_ancestral, heun, dpm_2, lms, dpmpp_2m, dpmpp_2m_sde")
    String sampler;

    @Option(names = "--steps", paramLabel = "N", description = "steps of the base stage, 1.." + Limits.MAX_STEPS)
    Integer steps;

    @Option(names = "--guidance", paramLabel = "G", description = "text guidance of the base stage, 0..100")
    Double guidance;

    @Option(names = "--no-t5", description = "switch the T5 text encoder off")
    boolean noT5;

    @Option(names = "--no-clip", description = "switch the CLIP text encoder off (both off: unconditional)")
    boolean noClip;

    @Option(names = "--no-layout", description = "encode the prompt whole even when the model lays two-object prompts"
            + " out (one phrase per object, with its place)")
    boolean noLayout;

    @Option(names = "--style", paramLabel = "FILE", description = "transfer the style of this image")
    Path style;

    @Option(names = "--style-strength", paramLabel = "S", description = "style guidance strength, 0..10 (default 2)")
    Double styleStrength;

    @Option(names = "--paint", paramLabel = "PHRASE=MASK:W", description = "paint a phrase of the prompt: MASK is an image (white = here),"
            + " rect(x0,y0,x1,y1) or ellipse(x0,y0,x1,y1) in [0,1]; W in 0..10; repeatable")
    List<String> paints = new ArrayList<>();

    @Option(names = "--paint-map", paramLabel = "MAP.png", description = "one colour per phrase (with --legend)")
    Path paintMap;

    @Option(names = "--legend", paramLabel = "LEGEND.json",
            description = "the colours of --paint-map: {\"#ff0000\": {\"phrase\": \"...\", \"weight\": 0.4}}")
    Path legend;

    @Option(names = "--until", paramLabel = "STAGE", description = "stop after this stage")
    String until;

    @Option(names = "--all-stages", description = "write every stage's images, not only the last")
    boolean allStages;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: the current folder)")
    Path out = Path.of(".");

    @Option(names = "--name", paramLabel = "BASE", description = "file name prefix (default ediff): BASE-SEED.png")
    String name = "ediff";

    @Option(names = "--overwrite", description = "replace existing files")
    boolean overwrite;

    @Option(names = "--progress", paramLabel = "MODE",
            description = "auto (a bar on a terminal, else lines), bar, lines or none (default auto)")
    ProgressBar.Mode progress = ProgressBar.Mode.AUTO;

    @Override
    public Integer call() {
        Request.Builder r = request();
        checkName(name);
        CancellationToken token = new CancellationToken();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            token.cancel();
            try {
                // Let the generating thread release its sessions and temporary files before the JVM exits.
                finished.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "ediff-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
        ProgressBar bar = new ProgressBar(progress, main.err, main.errIsTerminal, System::nanoTime);
        r.cancellation(token).onProgress(bar);
        try (EDiff ediff = model.open(main.err)) {
            Generation g = ediff.generate(r.build());
            bar.finish();
            if (!g.layoutPhrases().isEmpty()) {
                main.err.println("layout: " + layoutLine(g.layoutPhrases()));
            }
            for (Truncation t : g.truncations()) {
                main.err.println("note: the " + t.encoder() + " encoder dropped the end of the " + t.prompt() + ": \""
                        + abbreviate(t.droppedText()) + "\"");
            }
            List<Path> written = new ArrayList<>();
            for (var stage : g.stages()) {
                for (Sample s : stage.samples()) {
                    boolean last = stage == g.finalStage();
                    Path file = out.resolve(name + "-" + s.seed() + (last ? "" : "-" + stage.stage()) + ".png");
                    Map<String, String> text = new LinkedHashMap<>(g.parameters());
                    text.put("seed", Long.toString(s.seed()));
                    text.put("stage", stage.stage());
                    PngFiles.write(file, Images.toImage(s), text, overwrite);
                    written.add(file);
                }
            }
            written.forEach(main.out::println);
            main.err.printf("%d image(s) in %.1f s (model %.1f s)%n", written.size(), g.total().toMillis() / 1000.0,
                    g.modelTime().toMillis() / 1000.0);
            return 0;
        } finally {
            bar.finish();
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down (Ctrl-C): the hook has cancelled the generation
            }
        }
    }

    /** The request the options describe, every number checked against its range before a model is opened. */
    Request.Builder request() {
        String text = PromptInput.resolve(words, prompt, promptFile, main.in);
        Request.Builder r = Request.prompt(text)
                .count(Limits.check("--count", count, 1, Limits.MAX_COUNT))
                .t5(!noT5)
                .clip(!noClip)
                .layout(!noLayout)
                .keepAllStages(allStages);
        if (negative != null) {
            r.negativePrompt(negative);
        }
        if (seed != null) {
            r.seed(seed);
        }
        if (sampler != null) {
            try {
                r.sampler(Samplers.byName(sampler));
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, "--sampler: " + e.getMessage());
            }
        }
        if (steps != null) {
            r.steps(Limits.check("--steps", steps, 1, Limits.MAX_STEPS));
        }
        if (guidance != null) {
            r.guidance(Guidance.of(Limits.check("--guidance", guidance, 0, Limits.MAX_GUIDANCE)));
        }
        if (styleStrength != null) {
            Limits.check("--style-strength", styleStrength, 0, Limits.MAX_STYLE_STRENGTH);
            if (style == null) {
                throw new CliException(CliException.USAGE, "--style-strength needs --style FILE");
            }
        }
        if (style != null) {
            r.style(style, styleStrength != null ? styleStrength : Request.DEFAULT_STYLE_STRENGTH);
        }
        PaintArgs.apply(paints, paintMap, legend, r);
        if (until != null) {
            r.untilStage(until);
        }
        return r;
    }

    /** The phrases a laid-out prompt was encoded as, quoted: {@code "a red circle at the top" + "a blue square at the bottom"}. */
    static String layoutLine(List<String> phrases) {
        return String.join(" + ", phrases.stream().map(p -> "\"" + p + "\"").toList());
    }

    /** At most 80 characters of a dropped text: a long prompt's note stays one readable line. */
    static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 60) + "... (" + (text.length() - 60) + " more characters)";
    }

    /** A file name prefix, never a path: {@code --name ../../x} must not write outside {@code --out}. */
    static void checkName(String name) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")
                || name.indexOf('\0') >= 0 || name.length() > 200) {
            throw new CliException(CliException.USAGE, "--name '" + name + "' must be a file name prefix of 1..200"
                    + " characters without '/' or '\\' (the folder goes in --out DIR)");
        }
    }
}
