package dev.ediff.api;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The immutable result of a generation: the final samples, what every stage did, and the
 * parameters needed to reproduce them. The accessors without a stage name describe the final stage.
 *
 * @param stages      every stage run, in order
 * @param truncations prompts cut off by a text encoder's token limit (empty when none)
 * @param parameters  the generation parameters as text (prompt, seed, sampler, ...), as written into PNGs
 * @param total         wall time of the whole generation
 * @param layoutPhrases the phrases the prompt was encoded as, each on its own, when the model's
 *                      prompt layout split it ({@link Request.Builder#layout(boolean)}); empty when
 *                      the prompt was encoded whole
 */
public record Generation(List<StageResult> stages, List<Truncation> truncations, Map<String, String> parameters,
                         Duration total, List<String> layoutPhrases) {

    /**
     * Checks that there is a stage and makes the lists and the parameter map unmodifiable copies.
     *
     * @param stages        every stage run, in order
     * @param truncations   prompts cut off by a text encoder's token limit (empty when none)
     * @param parameters    the generation parameters as text (prompt, seed, sampler, ...), as written into PNGs
     * @param total         wall time of the whole generation
     * @param layoutPhrases the phrases the prompt was encoded as when it was laid out, else empty
     */
    public Generation {
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("a generation has at least one stage");
        }
        stages = List.copyOf(stages);
        truncations = List.copyOf(truncations);
        layoutPhrases = List.copyOf(layoutPhrases);
        // insertion order kept, so PNG text chunks come out the same on every run
        parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
    }

    /**
     * A generation whose prompt was encoded whole (no layout phrases).
     *
     * @param stages      every stage run, in order
     * @param truncations prompts cut off by a text encoder's token limit (empty when none)
     * @param parameters  the generation parameters as text (prompt, seed, sampler, ...), as written into PNGs
     * @param total       wall time of the whole generation
     */
    public Generation(List<StageResult> stages, List<Truncation> truncations, Map<String, String> parameters,
                      Duration total) {
        this(stages, truncations, parameters, total, List.of());
    }

    /**
     * Writes the final samples as PNG files {@code ediff-SEED.png} into {@code dir} (created if
     * needed), each with its own parameters in text chunks: those of this generation with the
     * image's {@code seed} and {@code count = 1}, so each file regenerates its image alone
     * (parse them with {@code GenerationParameters.parse}). Never overwrites a file.
     *
     * @param dir the folder
     * @return the files written, in batch order
     * @throws EDiffException when a file exists or cannot be written (files written before stay)
     */
    public List<java.nio.file.Path> writePngs(java.nio.file.Path dir) {
        return writePngs(dir, "ediff");
    }

    /**
     * Like {@link #writePngs(java.nio.file.Path)}, naming the files {@code PREFIX-SEED.png}.
     *
     * @param dir    the folder
     * @param prefix the file name prefix
     * @return the files written, in batch order
     * @throws EDiffException when a file exists or cannot be written (files written before stay)
     */
    public List<java.nio.file.Path> writePngs(java.nio.file.Path dir, String prefix) {
        java.util.Objects.requireNonNull(dir, "dir");
        java.util.Objects.requireNonNull(prefix, "prefix");
        PngWriter writer = java.util.ServiceLoader.load(PngWriter.class, Generation.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new EDiffException("no PNG writer on the classpath: add ediff-core"));
        List<java.nio.file.Path> written = new java.util.ArrayList<>();
        for (Sample s : samples()) {
            Map<String, String> text = new java.util.LinkedHashMap<>(parameters);
            if (text.containsKey("seed")) {
                text.put("seed", Long.toString(s.seed()));
                text.put("count", "1");
            }
            java.nio.file.Path file = dir.resolve(prefix + "-" + s.seed() + ".png");
            writer.write(file, s.toImage(), text, false);
            written.add(file);
        }
        return List.copyOf(written);
    }

    /** {@return the final stage} */
    public StageResult finalStage() {
        return stages.get(stages.size() - 1);
    }

    /**
     * The stage called {@code name}.
     *
     * @param name the stage name
     * @return its result
     */
    public StageResult stage(String name) {
        return stages.stream().filter(s -> s.stage().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("no stage '" + name + "' in this generation; stages: "
                        + stages.stream().map(StageResult::stage).toList()));
    }

    /** {@return the final samples, in batch order} */
    public List<Sample> samples() {
        return finalStage().samples();
    }

    /**
     * Final sample {@code i}.
     *
     * @param i the index in the batch
     * @return the sample
     */
    public Sample sample(int i) {
        return samples().get(i);
    }

    /** {@return the final stage's sampler name} */
    public String sampler() {
        return finalStage().sampler();
    }

    /** {@return the final stage's steps} */
    public int steps() {
        return finalStage().steps();
    }

    /** {@return the final stage's sigma list} */
    public double[] sigmas() {
        return finalStage().sigmas();
    }

    /** {@return the final stage's evaluations} */
    public List<RoutedEvaluation> evaluations() {
        return finalStage().evaluations();
    }

    /** {@return the final stage's number of denoiser evaluations} */
    public int nfe() {
        return finalStage().nfe();
    }

    /** {@return time spent inside experts, all stages} */
    public Duration modelTime() {
        return stages.stream().map(StageResult::modelTime).reduce(Duration.ZERO, Duration::plus);
    }
}
