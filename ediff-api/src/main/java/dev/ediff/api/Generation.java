package dev.ediff.api;

import java.time.Duration;
import java.util.List;

/**
 * The immutable result of a generation: the samples and everything needed to reproduce and audit
 * them.
 *
 * @param samples     the samples, in batch order
 * @param sampler     the sampler's name
 * @param steps       the number of steps
 * @param sigmas      the sigma list walked (a copy is returned by {@link #sigmas()})
 * @param evaluations every denoiser evaluation in order: its sigma and the expert that served it
 *                    (a guided evaluation counts once)
 * @param total       wall time of the generation
 * @param modelTime   time spent inside experts
 */
public record Generation(List<Sample> samples, String sampler, int steps, double[] sigmas,
                         List<RoutedEvaluation> evaluations, Duration total, Duration modelTime) {

    public Generation {
        samples = List.copyOf(samples);
        sigmas = sigmas.clone();
        evaluations = List.copyOf(evaluations);
    }

    @Override
    public double[] sigmas() {
        return sigmas.clone();
    }

    /** The number of denoiser evaluations (NFE). */
    public int nfe() {
        return evaluations.size();
    }

    /** Sample {@code i}. */
    public Sample sample(int i) {
        return samples.get(i);
    }
}
