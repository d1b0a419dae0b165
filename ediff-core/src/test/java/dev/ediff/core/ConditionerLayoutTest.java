package dev.ediff.core;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.api.Tensor;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.api.Truncation;
import dev.ediff.core.text.PromptLayout;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the conditioner lays a prompt out, with encoders whose outputs name what they encoded: a
 * token state is {@code (length of the text, position)}, the mask marks the words, CLIP's pooled
 * value is the text's length. Each phrase must land in its own block of slots, the pooled value
 * must come from the joined phrases, and everything else must stay as without a layout.
 */
class ConditionerLayoutTest {

    /** Word-per-token encoder: tokens {@code [1, n, 2]} = (text length, position) for each word, then zeros. */
    static final class NamingEncoder implements TextEncoder {
        final String role;
        final int length;

        NamingEncoder(String role, int length) {
            this.role = role;
            this.length = length;
        }

        @Override
        public String role() {
            return role;
        }

        @Override
        public int tokenLength() {
            return length;
        }

        @Override
        public TextEncoding encode(String text) {
            return encodeAt(text, length, role.equals(CLIP));
        }

        @Override
        public TextEncoding encodePhrase(String text, int n) {
            return encodeAt(text, n, false);
        }

        private TextEncoding encodeAt(String text, int n, boolean pooled) {
            String[] words = text.isEmpty() ? new String[0] : text.split(" ");
            float[] tokens = new float[n * 2];
            float[] mask = new float[n];
            for (int i = 0; i < Math.min(n, words.length); i++) {
                tokens[2 * i] = text.length();
                tokens[2 * i + 1] = i;
                mask[i] = 1;
            }
            Map<String, Tensor> c = new LinkedHashMap<>();
            c.put(role + "_tokens", Tensor.of(tokens, 1, n, 2));
            c.put(role + "_mask", Tensor.of(mask, 1, n));
            if (pooled) {
                c.put(Conditioning.CLIP_POOLED, Tensor.of(new float[] {text.length()}, 1, 1));
            }
            String dropped = words.length > n ? String.join(" ", Arrays.copyOfRange(words, n, words.length)) : "";
            return new TextEncoding(Conditioning.of(c), Math.min(n, words.length), dropped);
        }

        @Override
        public TextEncoding off() {
            Map<String, Tensor> c = new LinkedHashMap<>();
            c.put(role + "_tokens", Tensor.filled(-1, 1, length, 2));
            c.put(role + "_mask", Tensor.filled(0, 1, length));
            if (role.equals(CLIP)) {
                c.put(Conditioning.CLIP_POOLED, Tensor.filled(-1, 1, 1));
            }
            return new TextEncoding(Conditioning.of(c), 0, "");
        }
    }

    static final PromptLayout LAYOUT = new PromptLayout(2, List.of("cat", "dog"), List.of("big"),
            List.of(List.of("up left"), List.of("up right"), List.of("down left"), List.of("down right")),
            Map.of("above", List.of("above")), Map.of("above", List.of(0, 3)));

    static Conditioner conditioner(int t5Length, int clipLength) {
        Map<String, TextEncoder> encoders = new LinkedHashMap<>();
        encoders.put(TextEncoder.T5, new NamingEncoder(TextEncoder.T5, t5Length));
        encoders.put(TextEncoder.CLIP, new NamingEncoder(TextEncoder.CLIP, clipLength));
        return new Conditioner(encoders, null, 64, LAYOUT);
    }

    /** The expected token states: each phrase's (length, position) in its block of {@code per} slots. */
    static float[] blocks(int total, int per, String... phrases) {
        float[] out = new float[total * 2];
        for (int k = 0; k < phrases.length; k++) {
            int words = phrases[k].split(" ").length;
            for (int i = 0; i < Math.min(per, words); i++) {
                out[2 * (k * per + i)] = phrases[k].length();
                out[2 * (k * per + i) + 1] = i;
            }
        }
        return out;
    }

    static float[] get(Conditioning c, String role) {
        return c.get(role).orElseThrow().toArray();
    }

    @Test
    void eachPhraseFillsItsOwnBlockAndPooledComesFromTheJoinedPhrases() {
        Conditioner.Branches b = conditioner(8, 8).branches(Request.prompt("a big cat above a dog").negativePrompt("a big dog")
                .build());
        List<String> phrases = List.of("a big cat up left", "a dog down right");
        assertEquals(phrases, b.layoutPhrases());
        Conditioning uncond = b.conditionings().get(0);
        Conditioning cond = b.conditionings().get(1);
        assertArrayEquals(blocks(8, 4, "a big cat up left", "a dog down right"), get(cond, "t5_tokens"));
        assertArrayEquals(blocks(8, 4, "a big cat up left", "a dog down right"), get(cond, "clip_tokens"));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, get(cond, "clip_mask"));
        assertArrayEquals(new float[] {"a big cat up left, a dog down right".length()}, get(cond, Conditioning.CLIP_POOLED));
        assertArrayEquals(blocks(8, 8, "a big dog"), get(uncond, "clip_tokens"), "the negative prompt is encoded whole");
        assertEquals(List.of(new Truncation("t5", "layout phrase \"a big cat up left\"", "left"),
                new Truncation("clip", "layout phrase \"a big cat up left\"", "left"),
                new Truncation("clip", "joined layout phrases", "right")), b.truncations(),
                "each phrase cut at its 4 tokens, and the joined text of the pooled embedding at 8");
    }

    @Test
    void aRepeatedLaidOutPromptReusesItsTensorsAndReportsItsTruncationsAgain() {
        Conditioner c = conditioner(8, 8);
        Request r = Request.prompt("a big cat above a dog").build();
        Conditioner.Branches first = c.branches(r);
        Conditioner.Branches second = c.branches(r);
        Conditioning a = first.conditionings().get(1);
        Conditioning b = second.conditionings().get(1);
        for (String role : List.of("t5_tokens", "clip_tokens", "clip_mask", Conditioning.CLIP_POOLED)) {
            assertSame(a.get(role).orElseThrow(), b.get(role).orElseThrow(), role + " assembled once");
        }
        assertEquals(3, first.truncations().size(), "the phrase cut by both encoders and the joined text");
        assertEquals(first.truncations(), second.truncations());
    }

    @Test
    void anEncoderThatCannotEncodePhrasesNamesItselfWhenAPromptIsLaidOut() {
        NamingEncoder inner = new NamingEncoder(TextEncoder.CLIP, 8);
        TextEncoder wholeOnly = new TextEncoder() { // encodePhrase left to the interface's default
            @Override
            public String role() {
                return TextEncoder.CLIP;
            }

            @Override
            public int tokenLength() {
                return 8;
            }

            @Override
            public TextEncoding encode(String text) {
                return inner.encode(text);
            }

            @Override
            public TextEncoding off() {
                return inner.off();
            }
        };
        Conditioner c = new Conditioner(Map.of(TextEncoder.CLIP, wholeOnly), null, 64, LAYOUT);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> c.branches(Request.prompt("a big cat above a dog").build()));
        assertTrue(e.getMessage().contains("'clip'") && e.getMessage().contains("phrase"), e.getMessage());
        assertEquals(List.of(), c.branches(Request.prompt("a big cat above a dog").layout(false).build()).layoutPhrases(),
                "without the layout the prompt is encoded whole");
    }

    @Test
    void slotsLeftOverByAnOddLengthAreZeroAndMasked() {
        Conditioner.Branches b = conditioner(7, 9).branches(Request.prompt("cat above dog").build());
        Conditioning cond = b.conditionings().get(b.conditionings().size() - 1);
        assertArrayEquals(blocks(7, 3, "cat up left", "dog down right"), get(cond, "t5_tokens"));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 0}, get(cond, "t5_mask"));
        assertArrayEquals(blocks(9, 4, "cat up left", "dog down right"), get(cond, "clip_tokens"));
        assertArrayEquals(new float[] {1, 1, 1, 0, 1, 1, 1, 0, 0}, get(cond, "clip_mask"));
    }

    @Test
    void aSwitchedOffEncoderKeepsItsOffValue() {
        Conditioner c = conditioner(8, 8);
        Conditioner.Branches b = c.branches(Request.prompt("cat above dog").clip(false).build());
        Conditioning cond = b.conditionings().get(b.conditionings().size() - 1);
        assertArrayEquals(blocks(8, 4, "cat up left", "dog down right"), get(cond, "t5_tokens"));
        assertEquals(c.textEncoders().get("clip").off().conditioning().tensors().get("clip_tokens"),
                cond.get("clip_tokens").orElseThrow());
        assertEquals(List.of(), c.branches(Request.prompt("cat above dog").clip(false).t5(false).build()).layoutPhrases(),
                "nothing encoded, nothing laid out");
    }

    @Test
    void switchedOffPaintedExplicitOrOneObjectRequestsAreEncodedWhole() {
        Conditioner laidOut = conditioner(8, 8);
        Conditioner plain = new Conditioner(laidOut.textEncoders(), null, 64, null);
        Mask m = Mask.rectangle(0, 0, 0.5, 0.5);
        for (Request r : List.of(Request.prompt("cat above dog").layout(false).build(),
                Request.prompt("cat above dog").paint("cat", m, 0.5).build(),
                Request.prompt("a big cat up left").build(),
                Request.prompt("cat above dog above cat").build())) {
            Conditioner.Branches b = laidOut.branches(r);
            assertEquals(List.of(), b.layoutPhrases(), r.prompt());
            assertEquals(plain.branches(r).conditionings(), b.conditionings(), r.prompt());
        }
        Conditioning own = Conditioning.of("t5_tokens", Tensor.filled(3, 1, 8, 2));
        Conditioner.Branches explicit = laidOut.branches(Request.prompt("cat above dog").conditioning(own).build());
        assertEquals(List.of(), explicit.layoutPhrases());
        assertSame(own, explicit.conditionings().get(explicit.conditionings().size() - 1));
    }
}
