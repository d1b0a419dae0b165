package dev.ediff.cli;

import dev.ediff.api.CancelledException;
import dev.ediff.api.EDiffException;
import dev.ediff.eval.EvalException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The {@code ediff} command line. Exit codes: 0 done, 1 the work failed (a case failed, a model
 * error), 2 bad usage, 130 cancelled (SIGINT), 143 terminated (SIGTERM). Every error is one line on
 * standard error; {@code --verbose} adds the stack trace.
 */
@Command(name = "ediff", synopsisSubcommandLabel = "COMMAND",
        description = "eDiff-I style text-to-image diffusion: generate images, inspect and benchmark model bundles,"
                + " evaluate quality, run the conformance cases.",
        footer = {"", "Run 'ediff help COMMAND' for a command's options.",
                "Exit codes: 0 done, 1 the work failed, 2 bad usage, 130 cancelled (Ctrl-C), 143 terminated (SIGTERM)."})
public final class Main implements Callable<Integer> {

    /** Cancelled (Ctrl-C). */
    static final int CANCELLED = 130;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "print the stack trace of a failure")
    boolean verbose;

    @Mixin
    HelpOption help;

    @Spec
    CommandSpec spec;

    final InputStream in;
    final PrintStream out;
    final PrintStream err;
    final boolean errIsTerminal;

    private Main(InputStream in, PrintStream out, PrintStream err, boolean errIsTerminal) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.errIsTerminal = errIsTerminal;
    }

    /**
     * The subcommands by name, in the order help lists them. Registered when the command line runs:
     * all of them for help, usage errors and {@code ediff} alone, only the one named otherwise
     * (picocli builds a command's model by reflection, ~0.1 s for all seven in a fresh JVM).
     */
    static final Map<String, Class<?>> COMMANDS = commands();

    private static Map<String, Class<?>> commands() {
        Map<String, Class<?>> c = new LinkedHashMap<>();
        c.put("generate", GenerateCommand.class);
        c.put("info", InfoCommand.class);
        c.put("bench", BenchCommand.class);
        c.put("eval", EvalCommand.class);
        c.put("conformance", ConformanceCommand.class);
        c.put("serve", ServeCommand.class);
        c.put("help", CommandLine.HelpCommand.class);
        return java.util.Collections.unmodifiableMap(c);
    }

    /**
     * The one subcommand a command line needs: its first argument that is not an option, when that
     * names a subcommand other than {@code help}; else null (every subcommand is registered).
     */
    static String soleCommand(String[] args) {
        for (String a : args) {
            if (!a.startsWith("-")) {
                return COMMANDS.containsKey(a) && !a.equals("help") ? a : null;
            }
        }
        return null;
    }

    /** GraphCache.FORMAT_PROPERTY (its package is not exported). */
    static final String GRAPH_FORMAT = "ediff.graphCache.format";

    /**
     * Runs the command line and exits with its code.
     *
     * @param args the command and its options
     */
    public static void main(String[] args) {
        if (Warmup.isGenerate(args) && System.getProperty(GRAPH_FORMAT) == null) {
            // One run, start-up bound: sessions read the cached graphs in place (faster to open, a few
            // percent slower per step; docs/PERFORMANCE.md, "Session 6"). -Dediff.graphCache.format=onnx overrides.
            System.setProperty(GRAPH_FORMAT, "ort");
        }
        Thread warmup = Warmup.start(args);
        int code = SignalExit.run(err -> run(args, System.in, System.out, err, stderrIsTerminal()), System.err);
        Warmup.finish(warmup);
        System.exit(code);
    }

    /** Runs a command with no standard input; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, new ByteArrayInputStream(new byte[0]), out, err, false);
    }

    /** Runs a command; returns the exit code. {@code errIsTerminal} lets progress redraw a bar in place. */
    static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean errIsTerminal) {
        CommandLine cl = new CommandLine(new Main(in, out, err, errIsTerminal));
        String sole = soleCommand(args);
        for (Map.Entry<String, Class<?>> c : COMMANDS.entrySet()) {
            if (sole == null || sole.equals(c.getKey())) {
                cl.addSubcommand(c.getKey(), c.getValue()); // before the settings below, which reach registered ones only
            }
        }
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExpandAtFiles(false); // a prompt word like "@home" is a word, not a file of arguments
        cl.setParameterExceptionHandler((ex, argv) -> {
            CommandLine where = ex.getCommandLine();
            String message = oneLine(ex.getMessage());
            if (ex instanceof CommandLine.UnmatchedArgumentException u && where == cl && !u.getUnmatched().isEmpty()
                    && !u.getUnmatched().get(0).startsWith("-")) {
                message = "unknown command '" + u.getUnmatched().get(0) + "'";
            }
            String helpCommand = where == cl ? "ediff help" : "ediff help " + where.getCommandName();
            err.println("ediff: " + message + "; run '" + helpCommand + "'");
            if (Arrays.asList(argv).contains("--verbose")) {
                ex.printStackTrace(err);
            }
            return CliException.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, where, parsed) -> report(ex, verbose(parsed), err));
        return cl.execute(args);
    }

    /** {@code ediff} alone: the usage, and the bad-usage exit code. */
    @Override
    public Integer call() {
        spec.commandLine().usage(err);
        return CliException.USAGE;
    }

    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** One line for a failure (and its stack trace with --verbose); returns the exit code. */
    static int report(Exception e, boolean verbose, PrintStream err) {
        int code;
        String message = oneLine(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        if (e instanceof CancelledException) {
            code = CANCELLED;
            message = "cancelled";
        } else if (e instanceof CliException c) {
            code = c.exitCode();
        } else if (e instanceof EvalException x) {
            code = x.exitCode();
        } else {
            code = CliException.FAILED;
            if (!(e instanceof EDiffException) && !verbose) {
                // not a failure the SDK explains: the stack trace is where the explanation is
                message += " (" + e.getClass().getSimpleName() + "; run with --verbose for the stack trace)";
            }
        }
        err.println("ediff: " + message);
        if (verbose) {
            e.printStackTrace(err);
        }
        return code;
    }

    /** Messages of parsers (JSON, picocli) may span lines; the command line prints one. */
    static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /**
     * Whether standard error is a terminal. Java cannot ask for one stream, so on Linux this reads
     * where file descriptor 2 points; elsewhere it falls back to {@link System#console()}, which
     * needs standard input and output to be a terminal too.
     */
    static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        try {
            Path fd2 = Path.of("/proc/self/fd/2");
            if (Files.exists(fd2)) {
                String target = Files.readSymbolicLink(fd2).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            }
        } catch (Exception ignored) {
            // no /proc: decide below
        }
        return System.console() != null;
    }
}
