package dev.ediff.api;

/** Thrown by a generation that was cancelled by its {@link CancellationToken} or by thread interruption. */
public class CancelledException extends EDiffException {

    /**
     * Creates the exception.
     *
     * @param message what was cancelled and where
     */
    public CancelledException(String message) {
        super(message);
    }
}
