package dev.ediff.core.text;

import dev.ediff.api.EDiffException;

/**
 * A tokenizer file that cannot be read or is not supported. The message names the file, the field
 * and what was expected.
 */
public class TokenizerFormatException extends EDiffException {

    /**
     * Creates the exception.
     *
     * @param message the file, the field and what was expected
     */
    public TokenizerFormatException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message the file, the field and what was expected
     * @param cause   the underlying failure
     */
    public TokenizerFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    static TokenizerFormatException field(String source, String field, String problem) {
        return new TokenizerFormatException(source + ": field '" + field + "': " + problem);
    }
}
