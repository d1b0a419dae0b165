package dev.ediff.eval;

/**
 * A failure of the {@code eval} command that the command line reports as one message and an exit
 * code, without a stack trace: a bad prompt file line, a bad option, a missing judge.
 */
public final class EvalException extends RuntimeException {

    /** Bad command line or input file (the command line's "bad usage" code). */
    public static final int USAGE = 2;
    /** The work ran and failed. */
    public static final int FAILED = 1;

    private final int exitCode;

    /** A failure with the exit code the command should end with. */
    public EvalException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    /** The exit code the command line should return. */
    public int exitCode() {
        return exitCode;
    }
}
