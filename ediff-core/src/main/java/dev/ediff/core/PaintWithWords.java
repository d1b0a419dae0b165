package dev.ediff.core;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Paint;
import dev.ediff.api.PhraseSpan;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Paint-with-words (eDiff-I section 4.4), all of it: the painted phrases of a request located on
 * the concatenated text-token axis (T5 tokens, then CLIP tokens, of the encoders switched on), and
 * the attention bias {@code [1, H*W, tokens]} each stage's experts receive. The experts scale the
 * bias by {@code log(1 + sigma) * max(QK^T)} inside their attention layers.
 */
final class PaintWithWords {

    /** A painted phrase with its token columns {@code [start, end)} in the concatenated text-token axis. */
    private record PaintedTokens(Paint paint, List<int[]> columns) {
    }

    /** No painted phrases. */
    static final PaintWithWords NONE = new PaintWithWords(List.of(), 0);

    private final List<PaintedTokens> paints;
    private final int totalTokens;

    private PaintWithWords(List<PaintedTokens> paints, int totalTokens) {
        this.paints = paints;
        this.totalTokens = totalTokens;
    }

    /**
     * Locates every painted phrase of {@code request} in the prompt's tokens.
     *
     * @throws IllegalArgumentException when the request paints words but brings its own
     *                                  conditioning, the model has no text encoders, every encoder
     *                                  is switched off, or a phrase is not in the prompt
     */
    static PaintWithWords locate(Request request, Conditioner conditioner) {
        if (request.paints().isEmpty()) {
            return NONE;
        }
        if (request.conditioning().isPresent() || conditioner.textEncoders().isEmpty()) {
            throw new IllegalArgumentException("painting words needs the model's text encoders; this request "
                    + (conditioner.textEncoders().isEmpty() ? "goes to a model without text encoders"
                    : "gives explicit conditioning"));
        }
        List<TextEncoder> order = tokenOrder(conditioner.textEncoders().values());
        int total = 0;
        for (TextEncoder e : order) {
            total += e.tokenLength();
        }
        List<PaintedTokens> out = new ArrayList<>();
        for (Paint p : request.paints()) {
            List<int[]> columns = new ArrayList<>();
            int offset = 0;
            for (TextEncoder e : order) {
                if (Conditioner.isOn(e, request)) {
                    PhraseSpan span = e.locate(request.prompt(), p.phrase());
                    columns.add(new int[] {offset + span.start(), offset + span.end()});
                }
                offset += e.tokenLength();
            }
            if (columns.isEmpty()) {
                throw new IllegalArgumentException("painting '" + p.phrase() + "' needs a text encoder switched on");
            }
            out.add(new PaintedTokens(p, columns));
        }
        return new PaintWithWords(List.copyOf(out), total);
    }

    /**
     * The text encoders in the order their tokens are concatenated for the attention bias (the
     * order the experts concatenate them in): T5, then CLIP, then any other role by name.
     */
    private static List<TextEncoder> tokenOrder(Collection<TextEncoder> encoders) {
        List<TextEncoder> order = new ArrayList<>(encoders);
        order.sort(Comparator.comparing((TextEncoder e) -> switch (e.role()) {
            case TextEncoder.T5 -> "0";
            case TextEncoder.CLIP -> "1";
            default -> "2" + e.role();
        }));
        return order;
    }

    /**
     * The branches of {@code stage} with the attention bias added: the painted bias on the
     * conditional branches, a zero bias on the unconditional one (the same roles keep the branches
     * batchable). A stage without an attention-bias input gets the branches unchanged, except the
     * first stage, which must paint.
     *
     * @param unconditionalFirst whether {@code branches.get(0)} is the unconditional branch
     * @throws IllegalArgumentException when the first stage cannot take the bias, or a mask is
     *                                  empty at the stage's resolution
     */
    List<Conditioning> apply(List<Conditioning> branches, boolean unconditionalFirst, Stage stage, boolean first) {
        if (paints.isEmpty()) {
            return branches;
        }
        if (!(stage.accepts(Conditioning.ATTENTION_BIAS) && stage.roles().isPresent())) {
            if (first) {
                throw new IllegalArgumentException("stage '" + stage.name() + "' has no attention-bias input, so it"
                        + " cannot paint words (its experts take " + stage.roles().map(Object::toString)
                        .orElse("undeclared inputs") + ")");
            }
            return branches;
        }
        Tensor bias = bias(stage);
        List<Conditioning> out = new ArrayList<>(branches.size());
        for (int i = 0; i < branches.size(); i++) {
            boolean unconditional = unconditionalFirst && i == 0;
            out.add(branches.get(i).merge(Conditioning.of(Conditioning.ATTENTION_BIAS,
                    unconditional ? Tensor.filled(0, bias.shape()) : bias)));
        }
        return out;
    }

    /**
     * The bias at one stage's resolution: {@code [1, H*W, tokens]}, the sum over painted phrases of
     * {@code weight * mask(pixel)} on the phrase's token columns.
     */
    private Tensor bias(Stage stage) {
        int h = stage.sampleShape().height();
        int w = stage.sampleShape().width();
        int tokens = totalTokens;
        float[] bias = new float[h * w * tokens];
        for (PaintedTokens pt : paints) {
            float[] mask = pt.paint().mask().rasterize(w, h);
            double sum = 0;
            for (float v : mask) {
                sum += v;
            }
            if (sum == 0) {
                throw new IllegalArgumentException("the mask painted for '" + pt.paint().phrase() + "' is empty at the "
                        + w + "x" + h + " resolution of stage '" + stage.name() + "'");
            }
            float weight = (float) pt.paint().weight();
            for (int p = 0; p < h * w; p++) {
                if (mask[p] == 0) {
                    continue;
                }
                for (int[] c : pt.columns()) {
                    for (int t = c[0]; t < c[1]; t++) {
                        bias[p * tokens + t] += weight * mask[p];
                    }
                }
            }
        }
        return Tensor.of(bias, 1, (long) h * w, tokens);
    }
}
