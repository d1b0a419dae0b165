package dev.ediff.cli;

/** A failure the command line reports as one message and an exit code, without a stack trace. */
final class CliException extends RuntimeException {

    /** Bad command line. */
    static final int USAGE = 2;
    /** The work ran and failed (a conformance case, a model error). */
    static final int FAILED = 1;

    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
