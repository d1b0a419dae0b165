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

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code generate}: prompt to PNG files, with the bundled default model or a bundle folder. */
final class GenerateCommand {

    static final Set<String> VALUED = Set.of("prompt", "negative", "model", "seed", "count", "steps", "sampler",
            "guidance", "style", "style-strength", "until", "out", "name", "paint-map", "legend");
    static final Set<String> FLAGS = Set.of("no-t5", "no-clip", "overwrite", "all-stages");

    private GenerateCommand() {
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        List<String> paints = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            if (argv.get(i).equals("--paint")) {
                if (i + 1 >= argv.size()) {
                    throw new CliException(CliException.USAGE, "--paint needs a value PHRASE=MASK:WEIGHT");
                }
                paints.add(argv.get(++i));
            } else if (argv.get(i).startsWith("--paint=")) {
                paints.add(argv.get(i).substring("--paint=".length()));
            } else {
                rest.add(argv.get(i));
            }
        }
        Args a = new Args(rest, VALUED, FLAGS);
        String prompt = a.has("prompt") ? a.get("prompt", "") : String.join(" ", a.positional());
        Request.Builder r = Request.prompt(prompt)
                .negativePrompt(a.get("negative", ""))
                .count(a.integer("count", 1, 1))
                .t5(!a.flag("no-t5"))
                .clip(!a.flag("no-clip"))
                .keepAllStages(a.flag("all-stages"));
        if (a.has("seed")) {
            r.seed(a.longValue("seed"));
        }
        if (a.has("sampler") || a.has("steps")) {
            try {
                if (a.has("sampler")) {
                    r.sampler(Samplers.byName(a.get("sampler", "")));
                }
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, e.getMessage());
            }
            if (a.has("steps")) {
                r.steps(a.integer("steps", 20, 1));
            }
        }
        if (a.has("guidance")) {
            double g = a.number("guidance", 1);
            if (g < 0) {
                throw new CliException(CliException.USAGE, "--guidance must be >= 0, got " + g);
            }
            r.guidance(Guidance.of(g));
        }
        if (a.has("style")) {
            r.style(Path.of(a.get("style", "")), a.number("style-strength", 1.0));
        }
        PaintArgs.apply(paints, a.has("paint-map") ? a.get("paint-map", "") : null,
                a.has("legend") ? a.get("legend", "") : null, r);
        if (a.has("until")) {
            r.untilStage(a.get("until", ""));
        }
        CancellationToken token = new CancellationToken();
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            token.cancel();
            try {
                // Let the generating thread release its sessions and temporary files before the JVM exits.
                finished.await(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "ediff-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
        r.cancellation(token).onProgress(p -> err.printf("\r%s step %d/%d sigma %.4f expert %s   ",
                p.stage(), p.step() + 1, p.totalSteps(), p.sigma(), p.expert()));
        Path outDir = Path.of(a.get("out", "."));
        String base = a.get("name", "ediff");
        boolean overwrite = a.flag("overwrite");
        try (EDiff ediff = a.has("model") ? EDiff.open(Path.of(a.get("model", ""))) : EDiff.openDefault()) {
            Generation g = ediff.generate(r.build());
            err.println();
            for (Truncation t : g.truncations()) {
                err.println("note: the " + t.encoder() + " encoder dropped the end of the " + t.prompt() + ": \""
                        + t.droppedText() + "\"");
            }
            List<Path> written = new ArrayList<>();
            for (var stage : g.stages()) {
                for (int i = 0; i < stage.samples().size(); i++) {
                    Sample s = stage.samples().get(i);
                    boolean last = stage == g.finalStage();
                    Path file = outDir.resolve(base + "-" + s.seed() + (last ? "" : "-" + stage.stage()) + ".png");
                    Map<String, String> text = new LinkedHashMap<>(g.parameters());
                    text.put("seed", Long.toString(s.seed()));
                    text.put("stage", stage.stage());
                    PngFiles.write(file, Images.toImage(s), text, overwrite);
                    written.add(file);
                }
            }
            written.forEach(p -> out.println(p));
            err.printf("%d image(s) in %.1f s (model %.1f s)%n", written.size(), g.total().toMillis() / 1000.0,
                    g.modelTime().toMillis() / 1000.0);
            return 0;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down (Ctrl-C): the hook has cancelled the generation
            }
        }
    }

}
