/** Benchmarks of the ONNX hot path (model time vs SDK time, allocation per step). */
package dev.ediff.testkit.bench;
