package dev.ediff.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.ediff.api.Conditioning;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.core.text.Encoding;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.onnx.internal.SessionOpener;

import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A T5 or CLIP text encoder as an ONNX model plus its tokenizer: token ids (and attention mask)
 * in, token embeddings (and, for CLIP, a pooled embedding) out. Prompts are padded or truncated to
 * {@link Config#maxTokens}; truncation is reported in the {@link TextEncoding}. Owns its session.
 */
public final class OnnxTextEncoder implements TextEncoder {

    /**
     * How to call the model.
     *
     * @param role               {@link TextEncoder#T5} or {@link TextEncoder#CLIP}
     * @param maxTokens          the token length every prompt is padded or truncated to
     * @param inputIds           the token-id input (int64 or int32, {@code [B, maxTokens]})
     * @param attentionMaskInput the attention-mask input, if the model takes one (same type and shape)
     * @param tokensOutput       the token-embedding output ({@code float32 [B, maxTokens, dim]})
     * @param pooledOutput       the pooled-embedding output, if any ({@code float32 [B, dim]})
     * @param dim                the embedding width
     * @param offIsEmptyPrompt   when switched off, give the empty prompt's encoding instead of zeros
     */
    public record Config(String role, int maxTokens, String inputIds, Optional<String> attentionMaskInput,
                         String tokensOutput, Optional<String> pooledOutput, int dim, boolean offIsEmptyPrompt) {
        /**
         * Checks the role and that the token length and width are at least 1.
         *
         * @param role               {@link TextEncoder#T5} or {@link TextEncoder#CLIP}
         * @param maxTokens          the token length every prompt is padded or truncated to
         * @param inputIds           the token-id input (int64 or int32, {@code [B, maxTokens]})
         * @param attentionMaskInput the attention-mask input, if the model takes one (same type and shape)
         * @param tokensOutput       the token-embedding output ({@code float32 [B, maxTokens, dim]})
         * @param pooledOutput       the pooled-embedding output, if any ({@code float32 [B, dim]})
         * @param dim                the embedding width
         * @param offIsEmptyPrompt   when switched off, give the empty prompt's encoding instead of zeros
         */
        public Config {
            Objects.requireNonNull(role, "role");
            if (maxTokens < 1 || dim < 1) {
                throw new IllegalArgumentException("maxTokens and dim must be >= 1, got " + maxTokens + ", " + dim);
            }
        }
    }

    private static final Set<OnnxJavaType> IDS = Set.of(OnnxJavaType.INT64, OnnxJavaType.INT32);
    private static final Set<OnnxJavaType> FLOAT = Set.of(OnnxJavaType.FLOAT);

    private final OnnxModel model;
    private final Tokenizer tokenizer;
    private final Config config;
    private final boolean int32Ids;
    private final boolean dynamicLength;
    private final TextEncoding off;

    OnnxTextEncoder(OnnxModel model, Tokenizer tokenizer, Config config) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.config = config;
        try {
            long[] ids = model.require(true, config.inputIds(), "token ids", 2, IDS);
            checkDim(ids, 1, config.maxTokens(), "input '" + config.inputIds() + "' length", "max_tokens");
            int32Ids = inputType(config.inputIds()) == OnnxJavaType.INT32;
            dynamicLength = ids[1] < 0;
            config.attentionMaskInput().ifPresent(m -> {
                model.require(true, m, "attention mask", 2, IDS);
                if (inputType(m) != inputType(config.inputIds())) {
                    throw new EDiffException(model.name() + ": input '" + m + "' and '" + config.inputIds()
                            + "' must have the same integer type");
                }
            });
            for (String in : model.inputNames()) {
                if (!in.equals(config.inputIds()) && !config.attentionMaskInput().map(in::equals).orElse(false)) {
                    throw new EDiffException(model.name() + ": the model requires input '" + in
                            + "', which the text encoder does not provide (it gives token ids and an attention mask)");
                }
            }
            long[] tokens = model.require(false, config.tokensOutput(), "token embeddings", 3, FLOAT);
            checkDim(tokens, 2, config.dim(), "output '" + config.tokensOutput() + "' width", "dim");
            config.pooledOutput().ifPresent(p -> checkDim(model.require(false, p, "pooled embedding", 2, FLOAT), 1,
                    config.dim(), "output '" + p + "' width", "dim"));
            probeHighestId();
            this.off = config.offIsEmptyPrompt() ? encode("") : zeros();
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Runs the model once on the tokenizer's highest id, so that a tokenizer larger than the
     * model's embedding table is refused when opening, not on the first prompt that uses a rare word.
     */
    private void probeHighestId() {
        int n = config.maxTokens();
        int top = tokenizer.vocabSize() - 1;
        int[] ids = new int[n];
        int[] mask = new int[n];
        java.util.Arrays.fill(ids, top);
        java.util.Arrays.fill(mask, 1);
        try {
            run(ids, mask, config.tokensOutput());
        } catch (EDiffException ex) {
            throw new EDiffException(model.name() + ": the tokenizer has " + (top + 1) + " ids but the model fails on id "
                    + top + " (" + ex.getMessage() + "); the tokenizer file and the encoder model must have the same"
                    + " vocabulary", ex);
        }
    }

    /** Runs the model on one row of token ids and its attention mask; the input tensors are closed here. */
    private float[][] run(int[] ids, int[] mask, String... outputs) {
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put(config.inputIds(), ids(ids));
            if (config.attentionMaskInput().isPresent()) {
                inputs.put(config.attentionMaskInput().get(), ids(mask));
            }
            return model.run(inputs, outputs);
        } catch (OrtException ex) {
            throw new EDiffException(model.name() + ": could not make input tensors: " + ex.getMessage(), ex);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private void checkDim(long[] shape, int axis, int expected, String what, String field) {
        if (shape[axis] >= 0 && shape[axis] != expected) {
            throw new EDiffException(model.name() + ": " + what + " is " + shape[axis] + " but the configuration says "
                    + field + " = " + expected);
        }
    }

    private OnnxJavaType inputType(String input) {
        try {
            return ((ai.onnxruntime.TensorInfo) model.inputInfo(input)).type;
        } catch (RuntimeException e) {
            throw new EDiffException(model.name() + ": cannot read input '" + input + "': " + e.getMessage(), e);
        }
    }

    /**
     * Opens the model file.
     *
     * @param modelFile the ONNX file
     * @param tokenizer the tokenizer that makes its input ids
     * @param config    how to call it
     * @param session   how to run the session
     * @return the encoder; the caller closes it
     */
    public static OnnxTextEncoder open(Path modelFile, Tokenizer tokenizer, Config config, SessionConfig session) {
        String name = modelFile.getFileName().toString();
        return new OnnxTextEncoder(new OnnxModel(name, (e, o) -> e.createSession(modelFile.toString(), o), session),
                tokenizer, config);
    }

    /**
     * Opens a model held in a direct (or mapped) buffer, without a copy on the Java heap.
     *
     * @param name      the encoder's name
     * @param model     the serialized ONNX model, a direct buffer; read from its position to its limit
     *                  and kept referenced until the session is made
     * @param tokenizer the tokenizer that makes its input ids
     * @param config    how to call it
     * @param session   how to run the session
     * @return the encoder; the caller closes it
     * @throws IllegalArgumentException if the buffer is not direct
     */
    public static OnnxTextEncoder open(String name, java.nio.ByteBuffer model, Tokenizer tokenizer, Config config,
                                       SessionConfig session) {
        return new OnnxTextEncoder(new OnnxModel(name, SessionOpener.fromBuffer(model), session), tokenizer, config);
    }

    /**
     * Opens a model held in memory.
     *
     * @param name       the encoder's name
     * @param modelBytes the serialized ONNX model
     * @param tokenizer  the tokenizer that makes its input ids
     * @param config     how to call it
     * @param session    how to run the session
     * @return the encoder; the caller closes it
     */
    public static OnnxTextEncoder open(String name, byte[] modelBytes, Tokenizer tokenizer, Config config,
                                       SessionConfig session) {
        return new OnnxTextEncoder(new OnnxModel(name, (e, o) -> e.createSession(modelBytes, o), session), tokenizer,
                config);
    }

    @Override
    public String role() {
        return config.role();
    }

    /** {@return the tokenizer} */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** {@return the configuration} */
    public Config config() {
        return config;
    }

    @Override
    public TextEncoding encode(String text) {
        Encoding e = tokenizer.encode(text, config.maxTokens());
        int n = config.maxTokens();
        int[] ids = e.ids();
        int[] mask = e.attentionMask();
        if (ids.length != n) {
            throw new EDiffException(model.name() + ": the tokenizer gave " + ids.length + " ids for max_tokens " + n);
        }
        float[][] out = config.pooledOutput().isPresent()
                ? run(ids, mask, config.tokensOutput(), config.pooledOutput().get())
                : run(ids, mask, config.tokensOutput());
        Map<String, Tensor> c = tokens(out[0], mask, n);
        if (out.length > 1) {
            c.put(Conditioning.CLIP_POOLED, Tensor.of(out[1], 1, config.dim()));
        }
        return new TextEncoding(Conditioning.of(c), e.length(), e.droppedText());
    }

    /**
     * {@code length} positions' token states ({@code length * dim} values) and the first
     * {@code length} mask entries, under this encoder's role's names ({@code clip_tokens}/{@code clip_mask}
     * or {@code t5_tokens}/{@code t5_mask}).
     */
    private Map<String, Tensor> tokens(float[] states, int[] mask, int length) {
        float[] maskF = new float[length];
        for (int i = 0; i < length; i++) {
            maskF[i] = mask[i];
        }
        boolean clip = config.role().equals(CLIP);
        Map<String, Tensor> c = new LinkedHashMap<>();
        c.put(clip ? Conditioning.CLIP_TOKENS : Conditioning.T5_TOKENS, Tensor.of(states, 1, length, config.dim()));
        c.put(clip ? Conditioning.CLIP_MASK : Conditioning.T5_MASK, Tensor.of(maskF, 1, length));
        return c;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The phrase is tokenized at {@code length} ids. A model whose sequence length is dynamic
     * runs on those ids. A model with a fixed length gets them padded with the tokenizer's padding
     * id, masked out, to {@link Config#maxTokens}, and its first {@code length} token states are
     * kept, which equals running it at {@code length} when the later positions cannot reach the
     * earlier ones (CLIP's attention is causal; an attention mask hides the padding from T5).
     */
    @Override
    public TextEncoding encodePhrase(String text, int length) {
        int n = config.maxTokens();
        if (length < 1 || length > n) {
            throw new IllegalArgumentException("a phrase of the " + config.role() + " encoder gets 1.." + n
                    + " token positions, not " + length);
        }
        Encoding e = tokenizer.encode(text, length);
        int[] ids = e.ids();
        int[] mask = e.attentionMask();
        if (!dynamicLength) {
            ids = java.util.Arrays.copyOf(ids, n);
            mask = java.util.Arrays.copyOf(mask, n);
            java.util.Arrays.fill(ids, length, n, tokenizer.specialIds().pad());
        }
        float[] states = java.util.Arrays.copyOf(run(ids, mask, config.tokensOutput())[0], length * config.dim());
        return new TextEncoding(Conditioning.of(tokens(states, mask, length)), e.length(), e.droppedText());
    }

    private OnnxTensor ids(int[] values) throws OrtException {
        long[] shape = {1, values.length};
        if (int32Ids) {
            return OnnxTensor.createTensor(model.env(), java.nio.IntBuffer.wrap(values), shape);
        }
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = values[i];
        }
        return OnnxTensor.createTensor(model.env(), LongBuffer.wrap(l), shape);
    }

    private TextEncoding zeros() {
        int n = config.maxTokens();
        boolean clip = config.role().equals(CLIP);
        Map<String, Tensor> c = new LinkedHashMap<>();
        c.put(clip ? Conditioning.CLIP_TOKENS : Conditioning.T5_TOKENS, Tensor.filled(0, 1, n, config.dim()));
        c.put(clip ? Conditioning.CLIP_MASK : Conditioning.T5_MASK, Tensor.filled(0, 1, n));
        if (config.pooledOutput().isPresent()) {
            c.put(Conditioning.CLIP_POOLED, Tensor.filled(0, 1, config.dim()));
        }
        return new TextEncoding(Conditioning.of(c), 0, "");
    }

    @Override
    public int tokenLength() {
        return config.maxTokens();
    }

    @Override
    public dev.ediff.api.PhraseSpan locate(String prompt, String phrase) {
        Encoding e = tokenizer.encode(prompt, config.maxTokens());
        Optional<dev.ediff.core.text.TokenSpan> span = tokenizer.findSpan(e, phrase);
        if (span.isPresent()) {
            return new dev.ediff.api.PhraseSpan(span.get().start(), span.get().end());
        }
        if (tokenizer.findSpan(tokenizer.encode(prompt), phrase).isPresent()) {
            throw new IllegalArgumentException("the painted phrase '" + phrase + "' is cut off by the " + config.role()
                    + " encoder's limit of " + config.maxTokens() + " tokens (dropped: \"" + e.droppedText()
                    + "\"); shorten the prompt or move the phrase forward");
        }
        throw new IllegalArgumentException("the painted phrase '" + phrase + "' is not in the prompt \"" + prompt
                + "\" (phrases must be whole words of the prompt)");
    }

    @Override
    public TextEncoding off() {
        return off;
    }

    @Override
    public void close() {
        model.close();
    }

    /**
     * Puts this encoder's session under {@code residency} (a lazy one releases it until a prompt is
     * encoded, and a generation releases it when it starts denoising).
     *
     * @param residency the pipeline's residency; null leaves the session loaded
     */
    public void attach(Residency residency) {
        model.attach(residency, Residency.Placement.CONDITIONING);
    }

    @Override
    public String toString() {
        return "OnnxTextEncoder[" + config.role() + ", " + model.name() + "]";
    }
}
