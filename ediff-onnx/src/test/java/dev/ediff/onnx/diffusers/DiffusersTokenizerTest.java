package dev.ediff.onnx.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.core.text.Tokenizer;
import dev.ediff.core.text.TokenizerFolder;
import dev.ediff.core.text.Tokenizers;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fixture folders' tokenizers against transformers' and sentencepiece's ids (references/tokenizers.json). */
class DiffusersTokenizerTest {

    @Test
    void tokenizerFoldersGiveTheIdsOfTransformers() throws Exception {
        JsonNode cases = References.json("tokenizers.json").get("cases");
        int clip = 0;
        int t5 = 0;
        for (JsonNode c : cases) {
            Path folder = References.fixtures().resolve(c.get("folder").asText());
            String prompt = c.get("prompt").asText();
            int[] expected = References.ints(c.get("ids"));
            String label = c.get("folder").asText() + " '" + prompt + "'";
            if (c.has("sentencepiece_ids")) {
                assertArrayEquals(expected, References.ints(c.get("sentencepiece_ids")), "reference agreement " + label);
                Tokenizer direct = TokenizerFolder.fromSentencePiece(folder.resolve("spiece.model"),
                        new ObjectMapper().readTree(folder.resolve("tokenizer_config.json").toFile()));
                assertArrayEquals(expected, direct.encode(prompt).ids(), "spiece.model " + label);
                assertArrayEquals(expected, TokenizerFolder.load(folder).encode(prompt).ids(), "tokenizer.json " + label);
                t5++;
            } else {
                assertArrayEquals(expected, TokenizerFolder.load(folder).encode(prompt, 77).ids(), label);
                clip++;
            }
        }
        assertEquals(14, clip);
        assertEquals(7, t5);
    }

    @Test
    void theBangPadTokenIsCutOutOfThePromptLikeTransformersDoes() {
        Path sd2 = References.folder("sd2").resolve("tokenizer");
        Tokenizer withConfig = TokenizerFolder.load(sd2);
        int bang = withConfig.specialIds().pad();
        int[] ids = withConfig.encode("table!").ids();
        // "table" then the pad token "!" itself, not the end-of-word "!</w>"
        assertEquals(bang, ids[ids.length - 2]);
        // a loader that ignores special_tokens_map.json gives other ids: the parity trap this guards
        int[] plain = Tokenizers.load(sd2).encode("table!").ids();
        assertFalse(java.util.Arrays.equals(ids, plain));
        assertTrue(withConfig.encode("", 77).ids()[2] == bang, "SD 2.x pads with '!'");
    }
}
