package dev.ediff.cli;

import dev.ediff.api.Guidance;
import dev.ediff.api.Paint;
import dev.ediff.api.Request;

import java.util.Locale;

/**
 * The documented range of every numeric option. Out of range is bad usage (exit 2) with one line
 * naming the option, the range and the value: an unbounded count runs out of memory, an unbounded
 * step count runs for ever, and a huge guidance or paint weight only produces noise or NaN.
 */
final class Limits {

    /** Images per generation ({@code --count}, {@code --count-per-prompt}). */
    static final int MAX_COUNT = 64;
    /** Sampler steps of a stage: the SDK's own bound, so the CLI refuses exactly what the API would. */
    static final int MAX_STEPS = Request.MAX_STEPS;
    /** Text guidance scale, from 0 (off): the SDK's own bound. */
    static final double MAX_GUIDANCE = Guidance.MAX_SCALE;
    /** Paint-with-words weight, from 0: the SDK's own bound. */
    static final double MAX_PAINT_WEIGHT = Paint.MAX_WEIGHT;
    /** Style guidance strength, from 0. */
    static final double MAX_STYLE_STRENGTH = 10;
    /** ONNX Runtime threads per operator. */
    static final int MAX_THREADS = 256;
    /** Prompts generated at once by eval. */
    static final int MAX_JOBS = 64;
    /** Timed runs of bench. */
    static final int MAX_RUNS = 1000;
    /** Bytes of a prompt read from a file or standard input. */
    static final int MAX_PROMPT_BYTES = 1 << 20;

    private Limits() {
    }

    /** {@code value} when it lies in [min, max], else a usage error naming {@code option}. */
    static int check(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new CliException(CliException.USAGE, option + " must be in " + min + ".." + max + ", got " + value);
        }
        return value;
    }

    /** {@code value} when it is finite and lies in [min, max], else a usage error naming {@code option}. */
    static double check(String option, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new CliException(CliException.USAGE, option + " must be a number in [" + format(min) + ", "
                    + format(max) + "], got " + format(value));
        }
        return value;
    }

    private static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
    }
}
