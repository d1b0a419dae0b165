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
 * @param total       wall time of the whole generation
 */
public record Generation(List<StageResult> stages, List<Truncation> truncations, Map<String, String> parameters,
                         Duration total) {

    public Generation {
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("a generation has at least one stage");
        }
        stages = List.copyOf(stages);
        truncations = List.copyOf(truncations);
        // insertion order kept, so PNG text chunks come out the same on every run
        parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
    }

    /** The final stage. */
    public StageResult finalStage() {
        return stages.get(stages.size() - 1);
    }

    /** The stage called {@code name}. */
    public StageResult stage(String name) {
        return stages.stream().filter(s -> s.stage().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("no stage '" + name + "' in this generation; stages: "
                        + stages.stream().map(StageResult::stage).toList()));
    }

    /** The final samples, in batch order. */
    public List<Sample> samples() {
        return finalStage().samples();
    }

    /** Final sample {@code i}. */
    public Sample sample(int i) {
        return samples().get(i);
    }

    /** The final stage's sampler name. */
    public String sampler() {
        return finalStage().sampler();
    }

    /** The final stage's steps. */
    public int steps() {
        return finalStage().steps();
    }

    /** The final stage's sigma list. */
    public double[] sigmas() {
        return finalStage().sigmas();
    }

    /** The final stage's evaluations. */
    public List<RoutedEvaluation> evaluations() {
        return finalStage().evaluations();
    }

    /** The final stage's number of denoiser evaluations. */
    public int nfe() {
        return finalStage().nfe();
    }

    /** Time spent inside experts, all stages. */
    public Duration modelTime() {
        return stages.stream().map(StageResult::modelTime).reduce(Duration.ZERO, Duration::plus);
    }
}
