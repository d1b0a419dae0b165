package dev.ediff.onnx.rewrite;

/**
 * One cross-attention the rewrite found: the score product {@code Q K^T} whose keys come from the
 * text states only, and the softmax it feeds. Resolutions are not static in an exported graph
 * (the latent size is a dynamic axis); the rewritten graph derives each site's pooling factor from
 * the number of queries at run time. For a fused {@code com.microsoft.MultiHeadAttention} site,
 * {@code product} and {@code softmax} both name the fused node and {@code scores} and
 * {@code attention} are empty (those tensors exist only inside the kernel).
 *
 * @param product    name of the MatMul node that computes {@code Q K^T}
 * @param scores     name of the tensor the bias term is added to, as the original graph calls it: the
 *                   product, or its scaled value when a constant scale follows the product
 * @param softmax    name of the Softmax node the scores feed
 * @param attention  name of the attention probabilities tensor (the softmax output)
 */
public record AttentionSite(String product, String scores, String softmax, String attention) {
}
