package dev.ediff.serve;

import dev.ediff.core.EDiff;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code ediff serve [--model DIR] [--port N] [--host ADDRESS]}: opens a model (the default one
 * unless {@code --model} names a folder) and serves the paint-with-words page until Ctrl-C.
 * Exit codes: 0 stopped, 1 the model or the port could not be opened, 2 bad usage.
 */
public final class ServeMain {

    /** The usage line. */
    public static final String USAGE = "usage: ediff serve [--model DIR] [--port N (default 8080, 0 = any free)] "
            + "[--host ADDRESS (default 127.0.0.1: this machine only)]";

    private ServeMain() {
    }

    /**
     * Runs the server until the JVM is asked to stop; exits with the code of {@link #run}.
     *
     * @param args the command-line options, as for {@link #run}
     */
    public static void main(String[] args) {
        System.exit(run(List.of(args), System.out, System.err));
    }

    /**
     * Parses {@code args}, opens the model, serves until interrupted (Ctrl-C), then closes the server and
     * the model.
     *
     * @param args the options after {@code serve}: {@code --model DIR}, {@code --port N}, {@code --host ADDRESS},
     *             {@code --help}
     * @param out  where the usage (for {@code --help}) and the served address are printed
     * @param err  where usage errors, failures and the warning for a non-loopback address are printed
     * @return the exit code: 0 after a clean stop, 1 when the model or the address could not be opened, 2 bad usage
     */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        String model = null;
        String host = "127.0.0.1";
        int port = 8080;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String value = i + 1 < args.size() ? args.get(i + 1) : null;
            switch (a) {
                case "--help", "-h" -> {
                    out.println(USAGE);
                    return 0;
                }
                case "--model", "--port", "--host" -> {
                    if (value == null) {
                        err.println(a + " needs a value; " + USAGE);
                        return 2;
                    }
                    i++;
                    if (a.equals("--model")) {
                        model = value;
                    } else if (a.equals("--host")) {
                        host = value;
                    } else {
                        try {
                            port = Integer.parseInt(value);
                        } catch (NumberFormatException e) {
                            err.println("--port must be a whole number in 0..65535, got '" + value + "'");
                            return 2;
                        }
                    }
                }
                default -> {
                    err.println("unknown argument '" + a + "'; " + USAGE);
                    return 2;
                }
            }
        }
        if (port < 0 || port > 65535) {
            err.println("--port must be in 0..65535, got " + port);
            return 2;
        }
        return serve(model == null ? null : Path.of(model), host, port, Limits.defaults(), out, err);
    }

    /**
     * Opens the model ({@code model}, or the default one when null) and {@linkplain #serve(EDiff, String, int,
     * Limits, PrintStream, PrintStream) serves} it, then closes it.
     *
     * @param model  the model folder, or null for the default model
     * @param host   the address to bind, e.g. {@code 127.0.0.1} (loopback: this machine only)
     * @param port   the port, or 0 for a free one
     * @param limits what the server accepts
     * @param out    where the served address is printed
     * @param err    where failures and the warning for a non-loopback address are printed
     * @return the exit code: 0 after a clean stop, 1 when the model or the address could not be opened
     */
    public static int serve(Path model, String host, int port, Limits limits, PrintStream out, PrintStream err) {
        EDiff ediff;
        try {
            ediff = model == null ? EDiff.openDefault() : EDiff.open(model);
        } catch (RuntimeException e) {
            err.println("ediff serve: " + e.getMessage());
            return 1;
        }
        try (ediff) {
            return serve(ediff, host, port, limits, out, err);
        }
    }

    /**
     * Serves an open model on {@code host:port} until the JVM is asked to stop (Ctrl-C) or the calling
     * thread is interrupted, then closes the server (not the model: the caller owns it). For a command
     * line that parses its own options and opens the model itself ({@code ediff serve} in the picocli CLI).
     *
     * @param ediff  the open model to serve; it stays open
     * @param host   the address to bind, e.g. {@code 127.0.0.1} (loopback: this machine only)
     * @param port   the port, or 0 for a free one
     * @param limits what the server accepts
     * @param out    where the served address is printed
     * @param err    where failures and the warning for a non-loopback address are printed
     * @return the exit code: 0 after a clean stop, 1 when the address could not be opened
     */
    public static int serve(EDiff ediff, String host, int port, Limits limits, PrintStream out, PrintStream err) {
        try (EDiffServer server = EDiffServer.start(ediff, host, port, limits)) {
            Thread hook = new Thread(server::close, "ediff-serve-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                if (!java.net.InetAddress.getByName(host).isLoopbackAddress()) {
                    err.println("warning: listening on " + host + ": anyone who can reach this machine can use the model");
                }
                out.println("ediff serve: model " + ediff.name() + " at " + server.uri() + " (Ctrl-C stops)");
                server.awaitClose();
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // Ctrl-C: the hook is closing the server
                }
            }
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        } catch (RuntimeException | java.io.IOException e) {
            err.println("ediff serve: " + e.getMessage());
            return 1;
        }
    }
}
