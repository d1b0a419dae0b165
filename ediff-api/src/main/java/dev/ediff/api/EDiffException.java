package dev.ediff.api;

/** The SDK's exception: a model, bundle or runtime failure, with a message that names the cause. */
public class EDiffException extends RuntimeException {

    public EDiffException(String message) {
        super(message);
    }

    public EDiffException(String message, Throwable cause) {
        super(message, cause);
    }
}
