/**
 * The ONNX Runtime backend: {@link dev.ediff.onnx.OnnxExpert} runs an ONNX graph as an expert
 * denoiser, mapped by an {@link dev.ediff.onnx.ExpertContract} and opened on the CPU or CUDA by a
 * {@link dev.ediff.onnx.SessionConfig}. Its {@link dev.ediff.onnx.OnnxSession}s reuse direct
 * buffers and pinned outputs, so a sampling step allocates nothing proportional to the tensor size.
 */
package dev.ediff.onnx;
