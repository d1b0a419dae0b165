package dev.ediff.api;

/** The SDK's exception: a model, bundle or runtime failure, with a message that names the cause. */
public class EDiffException extends RuntimeException {

    /**
     * Creates the exception.
     *
     * @param message what went wrong and what would be right, in one line
     */
    public EDiffException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what went wrong and what would be right, in one line
     * @param cause   the underlying failure
     */
    public EDiffException(String message, Throwable cause) {
        super(message, cause);
    }
}
