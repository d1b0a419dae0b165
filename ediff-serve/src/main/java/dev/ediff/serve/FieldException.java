package dev.ediff.serve;

/** A bad field of a client's request: answered as {@code {"error": message, "field": field}} with HTTP 400. */
final class FieldException extends RuntimeException {

    private final String field;

    FieldException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The JSON path of the bad field, e.g. {@code paints[1].weight}. */
    String field() {
        return field;
    }
}
