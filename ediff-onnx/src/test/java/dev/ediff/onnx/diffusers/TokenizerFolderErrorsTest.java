package dev.ediff.onnx.diffusers;

import dev.ediff.core.text.TokenizerFolder;
import dev.ediff.core.text.TokenizerFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerFolderErrorsTest {

    @TempDir
    Path tmp;

    @Test
    void aFolderWithoutTokenizerFilesSaysWhatWouldDo() {
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> TokenizerFolder.load(tmp));
        assertTrue(e.getMessage().contains("tokenizer.json, spiece.model or vocab.json + merges.txt"), e.getMessage());
    }

    @Test
    void aCorruptSpieceModelIsNamed() throws IOException {
        Path f = tmp.resolve("spiece.model");
        Files.write(f, new byte[] {0x0a, 0x7f, 0x01});
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> TokenizerFolder.load(tmp));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not a SentencePiece model"), e.getMessage());
    }

    @Test
    void aSpecialTokenMissingFromTheVocabularyIsNamed() throws IOException {
        Path src = References.folder("sd2").resolve("tokenizer");
        for (String name : new String[] {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
            Files.copy(src.resolve(name), tmp.resolve(name));
        }
        Files.writeString(tmp.resolve("special_tokens_map.json"), "{\"pad_token\": \"<pad>\"}");
        Files.writeString(tmp.resolve("tokenizer_config.json"),
                Files.readString(tmp.resolve("tokenizer_config.json")).replace("\"pad_token\": \"!\"", "\"pad_token\": \"<pad>\""));
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> TokenizerFolder.load(tmp));
        assertTrue(e.getMessage().contains("special token '<pad>'") && e.getMessage().contains("vocab.json"), e.getMessage());
    }
}
