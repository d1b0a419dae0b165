package dev.ediff.cli;

import dev.ediff.core.EDiff;
import dev.ediff.serve.Limits;
import dev.ediff.serve.ServeMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code serve}: the paint-with-words canvas in the browser (module ediff-serve) for the chosen model. */
@Command(name = "serve", sortOptions = false, abbreviateSynopsis = true,
        header = "Serve the paint-with-words canvas in the browser.",
        description = "Opens the model once and serves a page at http://HOST:PORT/ until Ctrl-C. Binds to this"
                + " machine only unless --host says otherwise.")
final class ServeCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    HelpOption help;

    @Mixin
    ModelOptions model;

    @Option(names = "--port", paramLabel = "N", description = "TCP port, 0..65535 (0: any free one; default 8080)")
    int port = 8080;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "address to bind (default 127.0.0.1: this machine only)")
    String host = "127.0.0.1";

    @Override
    public Integer call() {
        if (port < 0 || port > 65535) {
            throw new CliException(CliException.USAGE, "--port must be in 0..65535, got " + port);
        }
        try (EDiff ediff = model.open(main.err)) {
            return ServeMain.serve(ediff, host, port, Limits.defaults(), main.out, main.err);
        }
    }
}
