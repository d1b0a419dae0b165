package dev.ediff.core.sampling;

final class SamplerChecks {

    private SamplerChecks() {
    }

    static double nonNegative(String name, double value) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
        }
        return value;
    }
}
