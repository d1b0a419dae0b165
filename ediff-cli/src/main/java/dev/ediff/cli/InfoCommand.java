package dev.ediff.cli;

import dev.ediff.core.EDiff;
import dev.ediff.core.schedule.SchedulerConfig;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;
import dev.ediff.onnx.diffusers.DiffusersFolder;
import dev.ediff.onnx.diffusers.DiffusersPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code info}: what a bundle holds (encoders, stages, experts and their intervals, tensor names), or
 * what a diffusers folder holds (family, components, scheduler, default sampler, VAE scaling).
 */
@Command(name = "info", sortOptions = false, abbreviateSynopsis = true, header = "Show what a model bundle holds.",
        description = "Encoders, stages, experts and their sigma intervals, tensor names; --check also opens the models.")
final class InfoCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    HelpOption help;

    @Mixin
    ModelOptions model;

    @Option(names = "--check", description = "also open every model (on --device) and check it against the manifest")
    boolean check;

    @Override
    public Integer call() {
        PrintStream out = main.out;
        if (model.isDiffusers()) {
            diffusersInfo(out, model.dir, "model");
            if (model.refiner != null) {
                diffusersInfo(out, model.refiner, "refiner");
            }
            if (check) {
                try (EDiff e = model.open(main.err)) {
                    out.println("check: every graph opened and matches its folder (" + e.routingTree().size() + " expert(s))");
                }
            }
            return 0;
        }
        Manifest m = model.manifest();
        String where = model.where();
        out.println("model " + m.name() + "  (" + where + ")");
        if (!m.description().isEmpty()) {
            out.println("  " + m.description());
        }
        for (Manifest.TextEncoderSpec t : m.textEncoders()) {
            out.printf("text encoder %-5s %s  tokenizer %s  max_tokens %d  dim %d  off=%s%n", t.role(), t.model(),
                    t.tokenizer(), t.maxTokens(), t.dim(), t.off().name().toLowerCase(java.util.Locale.ROOT));
            out.printf("    in: %s%s  out: %s%s%n", t.inputIds(), t.attentionMaskInput().map(x -> ", " + x).orElse(""),
                    t.tokensOutput(), t.pooledOutput().map(x -> ", pooled " + x).orElse(""));
        }
        m.layout().ifPresent(l -> out.printf("prompt layout  %dx%d cells, nouns %s, %d modifiers, relations %s"
                + " (two-object prompts are encoded one phrase per object; generate --no-layout encodes them whole)%n",
                l.grid(), l.grid(), String.join(",", l.nouns()), l.modifiers().size(), l.relations().keySet()));
        m.imageEncoder().ifPresent(i -> out.printf("image encoder %s  %s[1,3,%d,%d] -> %s[1,%d]%n", i.model(), i.input(),
                i.size(), i.size(), i.output(), i.dim()));
        for (Manifest.StageSpec s : m.stages()) {
            out.printf("stage %s  %dx%dx%d  %s  sigma [%s, %s]  defaults: %s %d steps, guidance %s%s%n", s.name(),
                    s.channels(), s.height(), s.width(), s.parameterization(), s.sigmaMin(), s.sigmaMax(), s.sampler(),
                    s.steps(), s.guidance(), s.augmentationSigma().map(x -> ", augmentation sigma " + x).orElse(""));
            out.printf("    inputs: x=%s sigma=%s(%s) %s  output: %s%n", s.xInput(), s.noiseInput(), s.noiseShape(),
                    s.conditioningInputs(), s.output());
            for (Manifest.ExpertSpec e : s.experts()) {
                out.printf("    expert %-8s [%s, %s)  %s%n", e.name(), e.sigmaLo(),
                        Double.isInfinite(e.sigmaHi()) ? "inf" : Double.toString(e.sigmaHi()),
                        e.model().orElseGet(() -> "provider " + e.provider().orElseThrow()
                                + (e.options().isEmpty() ? "" : " " + e.options())));
            }
        }
        if (check) {
            // what generate checks and more: digests, every model opened, one image with the stage defaults
            SessionConfig config = model.sessions(main.err, 0);
            out.println("check: " + (model.dir != null ? ModelBundle.check(model.dir, config)
                    : ModelBundle.checkDefault(config)));
        }
        return 0;
    }

    /** A diffusers folder: family, pipeline class, components, scheduler and what the SDK runs it with. */
    private static void diffusersInfo(PrintStream out, java.nio.file.Path dir, String what) {
        DiffusersFolder f = DiffusersFolder.open(dir);
        SchedulerConfig s = f.scheduler();
        out.printf("%s %s  %s (%s)%n", what, dir.getFileName(), f.family(), f.pipelineClass());
        List<String> parts = new ArrayList<>();
        for (String c : List.of("tokenizer", "tokenizer_2", "tokenizer_3", "text_encoder", "text_encoder_2", "text_encoder_3",
                "unet", "transformer", "vae_decoder", "vae_encoder")) {
            if (f.has(c)) {
                parts.add(c);
            }
        }
        out.println("  components: " + String.join(", ", parts));
        out.printf("  scheduler %s  prediction %s  spacing %s  steps_offset %d  karras %s%s%n", s.className(),
                s.prediction().name().toLowerCase(Locale.ROOT), s.spacing().name().toLowerCase(Locale.ROOT), s.stepsOffset(),
                s.karrasSigmas(), s.prediction() == SchedulerConfig.Prediction.FLOW ? "  shift " + s.shift() : "");
        out.printf("  default sampler %s (the SDK sampler that reproduces this scheduler; euler when none does)%n",
                DiffusersPipeline.defaultSampler(s).name());
        out.printf("  vae scaling_factor %s  shift_factor %s  latent_channels %d%n", f.vae().scalingFactor(),
                f.vae().shiftFactor(), f.vae().latentChannels());
    }
}
