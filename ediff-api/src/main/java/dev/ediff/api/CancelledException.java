package dev.ediff.api;

/** Thrown by a generation that was cancelled by its {@link CancellationToken} or by thread interruption. */
public class CancelledException extends EDiffException {

    public CancelledException(String message) {
        super(message);
    }
}
