/**
 * The sampler conformance runner: reads the shared reference cases (a Gaussian mixture, a schedule,
 * a sampler, injected noise and the reference trajectory's output) and checks that
 * {@code EDiff.generate} reproduces them with a given expert factory.
 */
package dev.ediff.testkit.conformance;
