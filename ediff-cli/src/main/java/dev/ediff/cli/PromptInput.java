package dev.ediff.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a prompt comes from: the words on the command line, {@code --prompt TEXT}, or, for long
 * prompts, {@code --prompt-file FILE} or {@code -} (standard input). The process command line
 * then stays short, whatever the length of the prompt.
 */
final class PromptInput {

    private PromptInput() {
    }

    /**
     * The prompt from exactly one source; none at all is the empty prompt.
     *
     * @param words the positional words ({@code -} alone: standard input)
     * @param text  {@code --prompt}, or null
     * @param file  {@code --prompt-file} ({@code -}: standard input), or null
     */
    static String resolve(List<String> words, String text, String file, InputStream stdin) {
        int sources = (words.isEmpty() ? 0 : 1) + (text == null ? 0 : 1) + (file == null ? 0 : 1);
        if (sources > 1) {
            throw new CliException(CliException.USAGE, "give the prompt once: as words, --prompt TEXT or --prompt-file"
                    + " FILE ('-' reads standard input)");
        }
        if (words.equals(List.of("-"))) {
            return read(stdin, "standard input");
        }
        if (file != null) {
            if (file.equals("-")) {
                return read(stdin, "standard input");
            }
            try (InputStream in = Files.newInputStream(Path.of(file))) {
                return read(in, "--prompt-file " + file);
            } catch (NoSuchFileException e) {
                throw new CliException(CliException.USAGE, "--prompt-file " + file + ": no such file");
            } catch (IOException | java.nio.file.InvalidPathException e) {
                throw new CliException(CliException.USAGE, "--prompt-file " + file + ": cannot read: " + e.getMessage());
            }
        }
        return text != null ? text : String.join(" ", words);
    }

    /** The UTF-8 text of {@code in}, stripped; at most {@link Limits#MAX_PROMPT_BYTES} bytes, not empty. */
    static String read(InputStream in, String what) {
        byte[] bytes;
        try {
            bytes = in.readNBytes(Limits.MAX_PROMPT_BYTES + 1);
        } catch (IOException e) {
            throw new CliException(CliException.FAILED, "cannot read the prompt from " + what + ": " + e.getMessage());
        }
        if (bytes.length > Limits.MAX_PROMPT_BYTES) {
            throw new CliException(CliException.USAGE, "the prompt from " + what + " is longer than "
                    + Limits.MAX_PROMPT_BYTES + " bytes");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CliException(CliException.USAGE, "the prompt from " + what + " is not UTF-8 text");
        }
        text = (text.startsWith("\uFEFF") ? text.substring(1) : text).strip();
        if (text.isEmpty()) {
            throw new CliException(CliException.USAGE, "the prompt from " + what + " is empty");
        }
        return text;
    }
}
