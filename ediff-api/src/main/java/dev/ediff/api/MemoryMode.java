package dev.ediff.api;

/**
 * When a loaded model's networks are resident in memory ({@link LoadOptions#memory()}).
 *
 * <p>{@link #RESIDENT} (the default) opens every network when the model is opened and keeps it
 * until the pipeline is closed: nothing is loaded during a generation, and peak memory is the sum
 * of all networks. {@link #LAZY} checks every network when the model is opened, then keeps only what
 * the running generations need: text encoders are opened when a prompt is first encoded and
 * released when denoising starts; an expert is opened at the first noise level of its interval and
 * released as soon as the noise level has fallen below that interval (the noise level only falls
 * within a stage, so an SDXL base is released when its refiner takes over); a decoder is opened to
 * decode and released when the generation ends. Between generations nothing is resident. Peak
 * memory is then about the largest network plus the encoders, at the price of loading each network
 * once per generation. Images are the same in both modes.
 */
public enum MemoryMode {
    /** Every network loaded at open and kept until close (the default). */
    RESIDENT,
    /** Networks loaded when a generation first needs them and released as soon as it no longer does. */
    LAZY
}
