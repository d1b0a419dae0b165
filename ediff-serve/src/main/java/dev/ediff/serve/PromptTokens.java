package dev.ediff.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.api.PhraseSpan;
import dev.ediff.api.TextEncoder;
import dev.ediff.core.EDiff;
import dev.ediff.core.text.Encoding;
import dev.ediff.onnx.OnnxTextEncoder;

import java.util.List;

/**
 * A prompt as the model's tokenizers see it, for the page's phrase picker: the words a phrase is
 * made of (with their character ranges), each encoder's tokens (where the encoder exposes its
 * tokenizer) and, for each asked phrase, its token span in every encoder, found by the SDK's own
 * {@link TextEncoder#locate} (or the reason it cannot be painted).
 */
final class PromptTokens {

    private PromptTokens() {
    }

    static ObjectNode of(EDiff ediff, String prompt, List<String> phrases) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode out = f.objectNode();
        out.put("prompt", prompt);
        ArrayNode words = out.putArray("words");
        int i = 0;
        while (i < prompt.length()) {
            int cp = prompt.codePointAt(i);
            if (Character.isLetterOrDigit(cp)) {
                int start = i;
                while (i < prompt.length() && (Character.isLetterOrDigit(prompt.codePointAt(i))
                        || prompt.charAt(i) == '\'' || prompt.charAt(i) == '-')) {
                    i += Character.charCount(prompt.codePointAt(i));
                }
                words.addObject().put("text", prompt.substring(start, i)).put("start", start).put("end", i);
            } else {
                i += Character.charCount(cp);
            }
        }
        // by role, so the page lists them in the same order every time
        List<TextEncoder> byRole = ediff.textEncoders().values().stream()
                .sorted(java.util.Comparator.comparing(TextEncoder::role)).toList();
        ArrayNode encoders = out.putArray("encoders");
        for (TextEncoder e : byRole) {
            ObjectNode en = encoders.addObject().put("role", e.role());
            if (e instanceof OnnxTextEncoder onnx) {
                Encoding enc = onnx.tokenizer().encode(prompt, onnx.tokenLength());
                en.put("maxTokens", onnx.tokenLength());
                en.put("truncated", enc.truncated());
                en.put("dropped", enc.truncated() ? enc.droppedText() : "");
                ArrayNode tokens = en.putArray("tokens");
                for (int t = 0; t < enc.length(); t++) {
                    tokens.addObject().put("index", t).put("text", enc.token(t))
                            .put("start", enc.start(t)).put("end", enc.end(t));
                }
            }
        }
        ArrayNode spans = out.putArray("phrases");
        for (String phrase : phrases) {
            ObjectNode p = spans.addObject().put("phrase", phrase);
            ObjectNode per = p.putObject("spans");
            for (TextEncoder e : byRole) {
                try {
                    PhraseSpan s = e.locate(prompt, phrase);
                    per.putArray(e.role()).add(s.start()).add(s.end());
                } catch (IllegalArgumentException | UnsupportedOperationException ex) {
                    p.put("error", ex.getMessage());
                }
            }
        }
        return out;
    }
}
