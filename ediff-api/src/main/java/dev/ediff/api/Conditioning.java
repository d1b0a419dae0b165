package dev.ediff.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a denoiser is conditioned on, as named tensors whose first dimension is the batch:
 * text token embeddings and masks, pooled embeddings, an image (style) embedding, an attention
 * bias, or anything else a model takes. Names are roles (see the constants); a backend maps roles
 * to its own input names. Immutable.
 *
 * <p>{@link #NONE} is the empty conditioning: an unconditional model call.
 */
public final class Conditioning {

    /** T5 token embeddings {@code [B, tokens, dim]}. */
    public static final String T5_TOKENS = "t5_tokens";
    /** T5 attention mask {@code [B, tokens]} (1 = token, 0 = padding). */
    public static final String T5_MASK = "t5_mask";
    /** CLIP text token embeddings {@code [B, tokens, dim]}. */
    public static final String CLIP_TOKENS = "clip_tokens";
    /** CLIP text attention mask {@code [B, tokens]}. */
    public static final String CLIP_MASK = "clip_mask";
    /** CLIP pooled text embedding {@code [B, dim]}. */
    public static final String CLIP_POOLED = "clip_pooled";
    /** CLIP image embedding of the style reference {@code [B, dim]}. */
    public static final String IMAGE_EMBEDDING = "image_embedding";
    /** Paint-with-words attention bias {@code [B, pixels, tokens]}. */
    public static final String ATTENTION_BIAS = "attention_bias";

    /** Super-resolution stages: the previous stage's output, upsampled and noise-augmented, {@code [B, C, H, W]}. */
    public static final String LOW_RES = "low_res";
    /** Super-resolution stages: the augmentation noise level of {@link #LOW_RES}, {@code [B]}. */
    public static final String AUGMENTATION_SIGMA = "augmentation_sigma";

    /** No conditioning at all. */
    public static final Conditioning NONE = new Conditioning(Map.of());

    private final Map<String, Tensor> tensors;

    private Conditioning(Map<String, Tensor> tensors) {
        this.tensors = tensors;
    }

    /**
     * Conditioning made of the given role -> tensor pairs. All tensors must share their batch size.
     *
     * @param tensors the tensors by role
     * @return the conditioning
     */
    public static Conditioning of(Map<String, Tensor> tensors) {
        Map<String, Tensor> copy = new LinkedHashMap<>();
        int batch = -1;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey() == null || e.getKey().isBlank() || e.getValue() == null) {
                throw new IllegalArgumentException("conditioning roles and tensors must be non-null and non-blank");
            }
            int b = e.getValue().batch();
            if (batch >= 0 && b != batch) {
                throw new IllegalArgumentException("conditioning tensor '" + e.getKey() + "' has batch " + b
                        + " but the others have batch " + batch);
            }
            batch = b;
            copy.put(e.getKey(), e.getValue());
        }
        return copy.isEmpty() ? NONE : new Conditioning(Collections.unmodifiableMap(copy));
    }

    /**
     * Conditioning with a single role.
     *
     * @param role   the role, e.g. {@link #T5_TOKENS}
     * @param tensor its tensor
     * @return the conditioning
     */
    public static Conditioning of(String role, Tensor tensor) {
        return of(Map.of(role, tensor));
    }

    /**
     * This conditioning plus (or with a replaced) {@code role}.
     *
     * @param role   the role to add or replace
     * @param tensor its tensor, with this conditioning's batch size
     * @return a new conditioning
     */
    public Conditioning with(String role, Tensor tensor) {
        Map<String, Tensor> m = new LinkedHashMap<>(tensors);
        m.put(role, tensor);
        return of(m);
    }

    /**
     * This conditioning plus every role of {@code other} (whose tensors win on a clash).
     *
     * @param other the conditioning to add
     * @return a new conditioning
     */
    public Conditioning merge(Conditioning other) {
        if (other.isEmpty()) {
            return this;
        }
        Map<String, Tensor> m = new LinkedHashMap<>(tensors);
        m.putAll(other.tensors);
        return of(m);
    }

    /**
     * Only the roles in {@code keep}.
     *
     * @param keep the roles to keep; others are dropped
     * @return a new conditioning
     */
    public Conditioning retain(Set<String> keep) {
        Map<String, Tensor> m = new LinkedHashMap<>(tensors);
        m.keySet().retainAll(keep);
        return of(m);
    }

    /**
     * The tensor for {@code role}, if present.
     *
     * @param role the role
     * @return its tensor, or empty
     */
    public Optional<Tensor> get(String role) {
        return Optional.ofNullable(tensors.get(role));
    }

    /** {@return the roles present} */
    public Set<String> roles() {
        return tensors.keySet();
    }

    /** {@return all tensors by role (unmodifiable)} */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** {@return true for {@link #NONE}} */
    public boolean isEmpty() {
        return tensors.isEmpty();
    }

    /** {@return the batch size of the tensors, or 0 for {@link #NONE} (which fits any batch)} */
    public int batch() {
        return tensors.isEmpty() ? 0 : tensors.values().iterator().next().batch();
    }

    /**
     * Each tensor repeated along the batch (a batch-1 prompt encoding used for a batch of images).
     *
     * @param times how many copies, at least 1
     * @return a new conditioning of batch {@code batch() * times}
     */
    public Conditioning repeatBatch(int times) {
        if (isEmpty() || times == 1) {
            return this;
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        tensors.forEach((k, v) -> m.put(k, v.repeatBatch(times)));
        return of(m);
    }

    /**
     * Concatenates conditionings along the batch, role by role; all parts must have the same roles.
     * Used to evaluate several guidance branches in one model call.
     *
     * @param parts the conditionings, in batch order
     * @return their concatenation
     */
    public static Conditioning concatBatch(Conditioning... parts) {
        if (parts.length == 1) {
            return parts[0];
        }
        Set<String> roles = parts[0].roles();
        for (int p = 1; p < parts.length; p++) {
            if (!parts[p].roles().equals(roles)) {
                throw new IllegalArgumentException("cannot batch conditionings with different roles: "
                        + roles + " vs " + parts[p].roles());
            }
        }
        if (roles.isEmpty()) {
            return NONE;
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String role : roles) {
            Tensor[] ts = new Tensor[parts.length];
            for (int p = 0; p < parts.length; p++) {
                ts[p] = parts[p].tensors.get(role);
            }
            m.put(role, Tensor.concatBatch(ts));
        }
        return of(m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Conditioning c && tensors.equals(c.tensors);
    }

    @Override
    public int hashCode() {
        return tensors.hashCode();
    }

    @Override
    public String toString() {
        return "Conditioning" + tensors;
    }
}
