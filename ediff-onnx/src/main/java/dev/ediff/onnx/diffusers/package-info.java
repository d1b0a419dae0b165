/**
 * Hugging Face diffusers model folders in the ONNX export layout ({@code model_index.json},
 * {@code scheduler/}, {@code tokenizer*}/, {@code text_encoder*}/, {@code unet/} or
 * {@code transformer/}, {@code vae_decoder/}, {@code vae_encoder/}): family detection, component
 * checks, and graph adapters that read tensor names, dtypes and shapes from each graph (token ids
 * int32 or int64; the timestep int64 {@code [B]}, float {@code [B]} or a float scalar).
 * Painted requests run a copy of the U-Net rewritten by {@code dev.ediff.onnx.rewrite}.
 */
package dev.ediff.onnx.diffusers;
