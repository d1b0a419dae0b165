package dev.ediff.onnx.rewrite;

import java.nio.file.Path;
import java.util.List;

/**
 * A model rewritten for paint-with-words, as {@link AttentionBiasRewrite#ensure} leaves it in the
 * cache. The graph has the original inputs and outputs plus the bias and sigma inputs.
 *
 * @param path       the rewritten model file (inside the cache folder; never the user's file)
 * @param cacheKey   hex SHA-256 of the original file, the rewrite version and the options
 * @param biasInput  name of the bias input: float32 {@code [batch, H*W, tokens]} at the latent resolution
 *                   (row-major positions), the mini model's {@code attention_bias} layout
 * @param sigmaInput name of the noise-level input: float32 {@code [batch]}, the plain sigma (the graph
 *                   computes {@code log(1 + sigma)}); an input the model already had when it has one
 * @param sites      the cross-attention sites, in graph order
 * @param cacheHit   true when the rewritten file was already in the cache
 */
public record RewrittenModel(Path path, String cacheKey, String biasInput, String sigmaInput,
                             List<AttentionSite> sites, boolean cacheHit) {

    /**
     * Copies the site list.
     *
     * @param path       the rewritten model file
     * @param cacheKey   the cache key
     * @param biasInput  the bias input name
     * @param sigmaInput the sigma input name
     * @param sites      the sites
     * @param cacheHit   whether the cache held the file
     */
    public RewrittenModel {
        sites = List.copyOf(sites);
    }
}
