package dev.ediff.cli;

import dev.ediff.api.CancelledException;
import dev.ediff.api.EDiffException;
import dev.ediff.eval.EvalConfig;
import dev.ediff.eval.EvalException;
import dev.ediff.eval.Evaluation;
import dev.ediff.onnx.ExecutionProvider;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The eval command's options become the harness's {@link Evaluation.Options}; failures map to exit codes. */
class EvalCommandTest {

    static Evaluation.Options parse(String... args) {
        EvalCommand eval = new EvalCommand();
        new CommandLine(eval).parseArgs(args);
        return eval.options(new PrintStream(new ByteArrayOutputStream()));
    }

    @Test
    void everyOptionReachesTheHarness() {
        Evaluation.Options o = parse("prompts.jsonl", "--limit", "5", "--count-per-prompt=2", "--config", "a=steps=10",
                "--config", "b label=steps=20,t5=false", "--judge", "j.onnx", "--real", "real", "--model", "m",
                "--threads", "3");
        assertEquals(Path.of("prompts.jsonl"), o.prompts());
        assertEquals(5, o.limit());
        assertEquals(2, o.perPrompt());
        assertEquals(List.of("a", "b label"), o.configs().stream().map(EvalConfig::label).toList());
        assertEquals(20, o.configs().get(1).steps());
        assertEquals(Path.of("j.onnx"), o.judge());
        assertEquals(Path.of("real"), o.real());
        assertEquals(Path.of("m"), o.model());
        assertEquals(1, o.jobs());
        assertEquals(3, o.sessionConfig().intraOpThreads());
        assertEquals(ExecutionProvider.cpu(), o.sessionConfig().provider());

        Evaluation.Options d = parse("p.txt", "--jobs", "4");
        assertEquals(4, d.jobs());
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() / 4), d.sessionConfig().intraOpThreads(),
                "without --threads, N jobs share the cores");
        assertEquals(List.of(EvalConfig.defaults()), d.configs());
        assertEquals(Integer.MAX_VALUE, d.limit());
        assertNull(d.model());
    }

    @Test
    void failuresMapToExitCodesInOneLine() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
        assertEquals(130, Main.report(new CancelledException("generation cancelled"), false, err));
        assertEquals(2, Main.report(new EvalException(EvalException.USAGE, "p.txt:3: empty prompt"), false, err));
        assertEquals(1, Main.report(new EvalException(EvalException.FAILED, "judging failed"), false, err));
        assertEquals(1, Main.report(new EDiffException("bundle: x\nmore"), false, err));
        assertEquals(1, Main.report(new IllegalStateException("a bug"), false, err));
        assertEquals(List.of("ediff: cancelled", "ediff: p.txt:3: empty prompt", "ediff: judging failed",
                "ediff: bundle: x more",
                "ediff: a bug (IllegalStateException; run with --verbose for the stack trace)"),
                buf.toString(StandardCharsets.UTF_8).lines().toList());
        buf.reset();
        assertEquals(1, Main.report(new IllegalStateException("a bug"), true, err));
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("\tat dev.ediff.cli.EvalCommandTest"), buf.toString());
    }

    @Test
    void aPromptWordStartingWithAtIsAWord() {
        Cli r = Cli.run("generate", "--model", "/no/such/bundle", "@pom.xml");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("/no/such/bundle"), "the model was the problem, not the word: " + r);
    }
}
