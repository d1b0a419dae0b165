package dev.ediff.onnx.internal;

import java.util.Objects;

/**
 * How an expert runs the calls in which one input is all zeros (no painted words: a zero attention
 * bias) on a copy of its graph without the work on those zeros ({@link dev.ediff.onnx.rewrite.ZeroInputRewrite}),
 * and opens the graph itself only for the first call that gives that input.
 *
 * @param input  the graph input that is all zeros unless given
 * @param copy   creates the copy's session (throws {@link NotApplicable} when the rewrite removes nothing)
 * @param sha256 the copy's key in the optimized-graph cache (derived from the model's verified digest), or null
 * @param graph  creates the session of the graph itself, on demand (the model's bytes are read again then)
 */
public record ZeroInputCopy(String input, SessionOpener.Loader copy, String sha256, SessionOpener.Loader graph) {

    /**
     * Checks the parts.
     *
     * @param input  the zero input
     * @param copy   the copy's loader
     * @param sha256 the copy's cache key, or null
     * @param graph  the graph's loader
     */
    public ZeroInputCopy {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(copy, "copy");
        Objects.requireNonNull(graph, "graph");
    }

    /** Thrown by {@link #copy()}'s loader when the rewrite finds nothing to remove: the expert runs the graph itself. */
    public static final class NotApplicable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /**
         * @param why what the rewrite found
         */
        public NotApplicable(String why) {
            super(why, null, false, false);
        }
    }
}
