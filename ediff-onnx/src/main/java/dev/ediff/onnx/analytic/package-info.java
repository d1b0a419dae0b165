/**
 * Analytic ONNX models built in code with the ONNX protobufs (needs the optional dependency
 * {@code org.tribuo:tribuo-util-onnx}): the exact Gaussian-mixture denoiser, used to test the
 * ONNX backend against known answers and to benchmark it.
 */
package dev.ediff.onnx.analytic;
