package dev.ediff.api;

import java.time.Duration;
import java.util.List;

/**
 * What one stage of a cascade did.
 *
 * @param stage       the stage name
 * @param samples     its samples (empty for intermediate stages unless they were asked for)
 * @param sampler     the sampler's name
 * @param steps       the number of steps
 * @param guidance    the guidance used
 * @param sigmas      the sigma list walked (copied on access)
 * @param evaluations every denoiser evaluation: its sigma and the expert that served it
 * @param total       wall time of the stage
 * @param modelTime   time spent inside experts
 */
public record StageResult(String stage, List<Sample> samples, String sampler, int steps, Guidance guidance,
                          double[] sigmas, List<RoutedEvaluation> evaluations, Duration total, Duration modelTime) {

    /**
     * Makes the lists unmodifiable copies and copies the sigma list.
     *
     * @param stage       the stage name
     * @param samples     its samples (empty for intermediate stages unless they were asked for)
     * @param sampler     the sampler's name
     * @param steps       the number of steps
     * @param guidance    the guidance used
     * @param sigmas      the sigma list walked (copied on access)
     * @param evaluations every denoiser evaluation: its sigma and the expert that served it
     * @param total       wall time of the stage
     * @param modelTime   time spent inside experts
     */
    public StageResult {
        samples = List.copyOf(samples);
        sigmas = sigmas.clone();
        evaluations = List.copyOf(evaluations);
    }

    /** {@return the sigma list walked (a copy)} */
    @Override
    public double[] sigmas() {
        return sigmas.clone();
    }

    /** {@return the number of denoiser evaluations (NFE)} */
    public int nfe() {
        return evaluations.size();
    }
}
