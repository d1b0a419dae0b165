package dev.ediff.serve;

/**
 * What one {@link EDiffServer} accepts: request sizes, image sizes, how much work it queues. Every
 * limit is answered with a JSON error naming it, never by running out of memory or threads.
 * Immutable; make one with {@link #builder()} or take {@link #defaults()}.
 */
public final class Limits {

    private final int maxBodyBytes;
    private final int maxImagePixels;
    private final int maxCount;
    private final int maxSteps;
    private final int workers;
    private final int queue;
    private final int keepJobs;
    private final int maxStreams;
    private final int maxPhrases;

    private Limits(Builder b) {
        this.maxBodyBytes = b.maxBodyBytes;
        this.maxImagePixels = b.maxImagePixels;
        this.maxCount = b.maxCount;
        this.maxSteps = b.maxSteps;
        this.workers = b.workers;
        this.queue = b.queue;
        this.keepJobs = Math.max(b.keepJobs, b.workers + b.queue);
        this.maxStreams = b.maxStreams;
        this.maxPhrases = b.maxPhrases;
    }

    /**
     * 8 MiB requests, 1024x1024-pixel uploads, 8 painted phrases, 4 images and 1000 steps per generation,
     * 1 worker, 4 waiting.
     *
     * @return the default limits
     */
    public static Limits defaults() {
        return builder().build();
    }

    /** {@return a builder starting from {@link #defaults()}} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the largest request body, in bytes} A generation request carries its masks and style image. */
    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    /** {@return the most pixels an uploaded image (mask, style) may declare} Checked before the image is decoded. */
    public int maxImagePixels() {
        return maxImagePixels;
    }

    /** {@return the most images one generation may ask for} */
    public int maxCount() {
        return maxCount;
    }

    /** {@return the most sampler steps one generation may ask for} */
    public int maxSteps() {
        return maxSteps;
    }

    /** {@return how many generations run at the same time} */
    public int workers() {
        return workers;
    }

    /** {@return how many generations may wait for a worker} One more is answered "busy" (HTTP 429). */
    public int queue() {
        return queue;
    }

    /**
     * {@return how many finished generations (their images) are kept in memory; never fewer than
     * {@link #workers()} + {@link #queue()}} The oldest finished goes first.
     */
    public int keepJobs() {
        return keepJobs;
    }

    /**
     * {@return how many progress streams (server-sent events) may be open at the same time} One more is
     * answered 503.
     */
    public int maxStreams() {
        return maxStreams;
    }

    /** {@return the most painted phrases in one generation (each carries a mask image)} */
    public int maxPhrases() {
        return maxPhrases;
    }

    @Override
    public String toString() {
        return "Limits[body " + maxBodyBytes + " B, images " + maxImagePixels + " px, count " + maxCount + ", steps "
                + maxSteps + ", phrases " + maxPhrases + ", workers " + workers + ", queue " + queue + ", kept " + keepJobs
                + ", streams " + maxStreams + "]";
    }

    /** Builds {@link Limits}; each setter checks its value at once. */
    public static final class Builder {
        private int maxBodyBytes = 8 << 20;
        private int maxImagePixels = 1024 * 1024;
        private int maxCount = 4;
        private int maxSteps = 1000;
        private int workers = 1;
        private int queue = 4;
        private int keepJobs = 16;
        private int maxStreams = 16;
        private int maxPhrases = 8;

        private Builder() {
        }

        /**
         * The most painted phrases per generation, at least 1.
         *
         * @param phrases the most painted phrases per generation
         * @return this builder
         * @throws IllegalArgumentException if {@code phrases} is below 1
         */
        public Builder maxPhrases(int phrases) {
            this.maxPhrases = atLeast("maxPhrases", phrases, 1);
            return this;
        }

        /**
         * The largest request body in bytes, at least 1 KiB.
         *
         * @param bytes the largest request body, in bytes
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is below 1024
         */
        public Builder maxBodyBytes(int bytes) {
            this.maxBodyBytes = atLeast("maxBodyBytes", bytes, 1024);
            return this;
        }

        /**
         * The most pixels of an uploaded image, at least 16x16.
         *
         * @param pixels the most pixels (width times height) of an uploaded image
         * @return this builder
         * @throws IllegalArgumentException if {@code pixels} is below 256 (16x16)
         */
        public Builder maxImagePixels(int pixels) {
            this.maxImagePixels = atLeast("maxImagePixels", pixels, 256);
            return this;
        }

        /**
         * The most images per generation, at least 1.
         *
         * @param count the most images per generation
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is below 1
         */
        public Builder maxCount(int count) {
            this.maxCount = atLeast("maxCount", count, 1);
            return this;
        }

        /**
         * The most steps per generation, at least 1.
         *
         * @param steps the most sampler steps per generation, in 1..{@link dev.ediff.api.Request#MAX_STEPS}
         *              (the SDK refuses more, so a larger server limit would promise what it cannot give)
         * @return this builder
         * @throws IllegalArgumentException if {@code steps} is outside that range
         */
        public Builder maxSteps(int steps) {
            if (steps > dev.ediff.api.Request.MAX_STEPS) {
                throw new IllegalArgumentException("maxSteps must be <= " + dev.ediff.api.Request.MAX_STEPS + " (the SDK's"
                        + " limit), got " + steps);
            }
            this.maxSteps = atLeast("maxSteps", steps, 1);
            return this;
        }

        /**
         * Generations run at once, at least 1 (each uses the model's threads).
         *
         * @param workers how many generations run at once
         * @return this builder
         * @throws IllegalArgumentException if {@code workers} is below 1
         */
        public Builder workers(int workers) {
            this.workers = atLeast("workers", workers, 1);
            return this;
        }

        /**
         * Generations waiting for a worker, at least 0.
         *
         * @param waiting how many generations may wait for a worker; 0 answers "busy" whenever every worker is taken
         * @return this builder
         * @throws IllegalArgumentException if {@code waiting} is below 0
         */
        public Builder queue(int waiting) {
            this.queue = atLeast("queue", waiting, 0);
            return this;
        }

        /**
         * Finished generations kept, at least 1 (raised to workers + queue if lower).
         *
         * @param jobs how many finished generations to keep in memory
         * @return this builder
         * @throws IllegalArgumentException if {@code jobs} is below 1
         */
        public Builder keepJobs(int jobs) {
            this.keepJobs = atLeast("keepJobs", jobs, 1);
            return this;
        }

        /**
         * Progress streams open at once, at least 1.
         *
         * @param streams how many progress streams may be open at once
         * @return this builder
         * @throws IllegalArgumentException if {@code streams} is below 1
         */
        public Builder maxStreams(int streams) {
            this.maxStreams = atLeast("maxStreams", streams, 1);
            return this;
        }

        private static int atLeast(String what, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(what + " must be >= " + min + ", got " + value);
            }
            return value;
        }

        /** {@return the limits set so far (defaults for any not set)} */
        public Limits build() {
            return new Limits(this);
        }
    }
}
