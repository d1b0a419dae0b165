package dev.ediff.api;

import java.time.Duration;

/**
 * One denoiser evaluation of a running generation.
 *
 * @param stage      the stage name (e.g. {@code "base"})
 * @param step       the sampler step this evaluation belongs to, from 0
 * @param totalSteps steps in this stage
 * @param evaluation evaluations so far in this stage, counting this one (from 1)
 * @param sigma      the noise level of this evaluation
 * @param expert     the name of the expert it was routed to
 * @param elapsed    time since the generation started
 */
public record Progress(String stage, int step, int totalSteps, int evaluation, double sigma, String expert,
                       Duration elapsed) {
}
