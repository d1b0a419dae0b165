package dev.ediff.api;

/**
 * One denoiser evaluation of a generation: its noise level and the expert that served it.
 *
 * @param sigma  the noise level
 * @param expert the expert's name
 */
public record RoutedEvaluation(double sigma, String expert) {
}
