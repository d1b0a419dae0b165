package dev.ediff.api;

import java.util.Locale;
import java.util.Objects;

/**
 * Where a model runs: the CPU, or a CUDA GPU by ordinal. Immutable.
 *
 * @param kind  CPU or CUDA
 * @param index the CUDA device ordinal ({@code >= 0}); 0 for the CPU
 */
public record Device(Kind kind, int index) {

    /** The kinds of device. */
    public enum Kind {
        /** The CPU (always available). */
        CPU,
        /** An NVIDIA GPU through CUDA (needs the GPU build of the backend and the CUDA libraries). */
        CUDA
    }

    /**
     * Checks the values.
     *
     * @param kind  CPU or CUDA
     * @param index the CUDA ordinal, or 0 for the CPU
     * @throws IllegalArgumentException for a negative CUDA ordinal or a CPU with an index
     */
    public Device {
        Objects.requireNonNull(kind, "kind");
        if (index < 0 || (kind == Kind.CPU && index != 0)) {
            throw new IllegalArgumentException("device index must be >= 0 for CUDA and 0 for the CPU, got "
                    + kind + " " + index);
        }
    }

    /**
     * The CPU.
     *
     * @return the CPU device
     */
    public static Device cpu() {
        return new Device(Kind.CPU, 0);
    }

    /**
     * CUDA device {@code ordinal}.
     *
     * @param ordinal the GPU's CUDA ordinal, {@code >= 0}
     * @return the device
     */
    public static Device cuda(int ordinal) {
        return new Device(Kind.CUDA, ordinal);
    }

    /**
     * Parses {@code cpu}, {@code cuda} (ordinal 0) or {@code cuda:N}, as {@link #toString} writes them.
     *
     * @param text the device name, case-insensitive
     * @return the device
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static Device parse(String text) {
        String t = Objects.requireNonNull(text, "text").trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) {
            return cpu();
        }
        if (t.equals("cuda")) {
            return cuda(0);
        }
        if (t.startsWith("cuda:")) {
            try {
                int n = Integer.parseInt(t.substring(5));
                if (n >= 0) {
                    return cuda(n);
                }
            } catch (NumberFormatException ignored) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + text + "'; use cpu, cuda or cuda:N (N >= 0)");
    }

    /** {@code cpu} or {@code cuda:N}. */
    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
