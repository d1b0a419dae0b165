package dev.ediff.examples.cli;

import java.util.List;

/** The backends the conformance command runs sampler cases with. */
final class Backends {

    private Backends() {
    }

    static List<ConformanceCommand.Backend> all() {
        return List.of(ConformanceCommand.javaBackend());
    }
}
