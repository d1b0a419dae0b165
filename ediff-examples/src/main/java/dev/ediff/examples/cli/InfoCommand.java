package dev.ediff.examples.cli;

import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code info}: what a bundle holds (encoders, stages, experts and their intervals, tensor names). */
final class InfoCommand {

    private InfoCommand() {
    }

    static int run(List<String> argv, PrintStream out) {
        Args a = new Args(argv, Set.of("model"), Set.of("check"));
        Manifest m;
        String where;
        if (a.has("model")) {
            Path dir = Path.of(a.get("model", ""));
            m = ModelBundle.manifest(dir);
            where = dir.toString();
        } else {
            m = ModelBundle.defaultManifest().orElseThrow(() -> new CliException(CliException.FAILED,
                    "no default model on the classpath; give --model DIR"));
            where = "classpath:/" + ModelBundle.DEFAULT_CLASSPATH_ROOT;
        }
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
                        Double.isInfinite(e.sigmaHi()) ? "inf" : Double.toString(e.sigmaHi()), e.model());
            }
        }
        if (a.flag("check")) {
            out.println("check: " + (a.has("model") ? ModelBundle.check(Path.of(a.get("model", ""))) : ModelBundle.checkDefault()));
        }
        return 0;
    }
}
