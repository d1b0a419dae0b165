/**
 * Exact denoisers of Gaussian mixtures, in Java and as ONNX graphs built in code with the ONNX
 * protobufs: experts whose every output is known in closed form, to test samplers, the pipeline and
 * the ONNX backend against analytic answers and to benchmark them.
 */
package dev.ediff.testkit.analytic;
