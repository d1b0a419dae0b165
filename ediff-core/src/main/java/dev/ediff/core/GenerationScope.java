package dev.ediff.core;

/**
 * A resource a pipeline owns ({@link EDiffBuilder#owning}) that wants to know when generations run,
 * e.g. to load networks when a generation first needs them and release them when it ends. The
 * pipeline calls {@link #begin()} on the generating thread before a generation encodes its prompts
 * and {@link #end()} on the same thread when it ends, normally or not; every call between them on
 * that thread belongs to that generation. Generations may run concurrently on different threads.
 */
public interface GenerationScope {

    /** A generation starts on the calling thread. */
    void begin();

    /** The generation that {@link #begin()} started on the calling thread has ended (normally or not). */
    void end();
}
