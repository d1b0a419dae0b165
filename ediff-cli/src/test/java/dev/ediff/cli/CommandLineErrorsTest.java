package dev.ediff.cli;

import dev.ediff.onnx.bundle.FixtureBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad command lines: each is exit 2 (bad usage) with exactly one line on standard error that names
 * the option and what would be right, and nothing is written. The numeric checks run before any
 * model is opened: the model folder given here does not exist, which would be exit 1.
 */
class CommandLineErrorsTest {

    static void assertUsage(Cli r, String... mentions) {
        assertEquals(2, r.code(), r.toString());
        assertEquals(1, r.errLines().size(), "one line: " + r);
        assertTrue(r.err().startsWith("ediff: "), r.err());
        for (String m : mentions) {
            assertTrue(r.err().contains(m), "'" + m + "' in: " + r.err());
        }
    }

    @Test
    void unboundedNumbersAreRefusedNamingOptionAndRange(@TempDir Path tmp) {
        String nope = tmp.resolve("no-such-bundle").toString();
        assertUsage(Cli.run("generate", "--model", nope, "--count", "100000", "x"), "--count", "1..64", "100000");
        assertUsage(Cli.run("generate", "--model", nope, "--count", "0", "x"), "--count", "1..64");
        assertUsage(Cli.run("generate", "--model", nope, "--steps", "2147483647", "x"), "--steps", "1..1000",
                "2147483647");
        assertUsage(Cli.run("generate", "--model", nope, "--steps", "1000000", "x"), "--steps", "1..1000");
        assertUsage(Cli.run("generate", "--model", nope, "--steps", "99999999999", "x"), "--steps");
        assertUsage(Cli.run("generate", "--model", nope, "--guidance", "1e308", "x"), "--guidance", "[0, 100]");
        assertUsage(Cli.run("generate", "--model", nope, "--guidance", "NaN", "x"), "--guidance", "[0, 100]");
        assertUsage(Cli.run("generate", "--model", nope, "--guidance", "-1", "x"), "--guidance", "[0, 100]");
        assertUsage(Cli.run("generate", "--model", nope, "--paint", "x=rect(0,0,1,1):1e300", "x"), "--paint",
                "weight", "[0, 10]");
        assertUsage(Cli.run("generate", "--model", nope, "--style", "s.png", "--style-strength", "-5", "x"),
                "--style-strength", "[0, 10]", "-5");
        assertUsage(Cli.run("generate", "--model", nope, "--style-strength", "2", "x"), "--style-strength", "--style");
        assertUsage(Cli.run("generate", "--model", nope, "--threads", "0", "x"), "--threads", "1..256");
        assertUsage(Cli.run("bench", "--model", nope, "--count", "100000"), "--count", "1..64");
        assertUsage(Cli.run("bench", "--model", nope, "--steps", "1000000"), "--steps", "1..1000");
        assertUsage(Cli.run("bench", "--model", nope, "--runs", "0"), "--runs");
        assertUsage(Cli.run("eval", "p.txt", "--model", nope, "--count-per-prompt", "100000"), "--count-per-prompt",
                "1..64");
        assertUsage(Cli.run("eval", "p.txt", "--model", nope, "--jobs", "0"), "--jobs", "1..64");
        assertUsage(Cli.run("eval", "p.txt", "--model", nope, "--config", "a=steps=2147483647"), "--config", "steps",
                "[1, 1000]");
        assertUsage(Cli.run("eval", "p.txt", "--model", nope, "--config", "a=guidance=1e308"), "guidance");
    }

    @Test
    void aNameIsNeverAPath(@TempDir Path tmp) throws Exception {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Path out = tmp.resolve("a/b/out");
        for (String name : List.of("../../x", "../x", "sub/x", "..", "", "a\\b")) {
            assertUsage(Cli.run("generate", "--model", bundle.toString(), "--steps", "1", "--out", out.toString(),
                    "--name", name, "x"), "--name", "--out");
        }
        try (Stream<Path> files = Files.walk(tmp)) {
            assertTrue(files.noneMatch(p -> p.toString().endsWith(".png") || p.toString().endsWith(".part")),
                    "nothing written");
        }
        Cli ok = Cli.run("generate", "--model", bundle.toString(), "--steps", "1", "--seed", "3", "--out",
                out.toString(), "--name", "..cat", "x");
        assertEquals(0, ok.code(), ok.toString());
        assertTrue(Files.isRegularFile(out.resolve("..cat-3.png")), "a name starting with dots is still a plain name");
    }

    @Test
    void aJsonSyntaxErrorIsOneLine(@TempDir Path tmp) throws Exception {
        Path legend = tmp.resolve("legend.json");
        Files.writeString(legend, "{\"#ff0000\": {\"phrase\": \"red\",\n \"weight\": }\n");
        assertUsage(Cli.run("generate", "--model", tmp.resolve("none").toString(), "--paint-map",
                tmp.resolve("map.png").toString(), "--legend", legend.toString(), "red"), "--legend", "not valid JSON",
                "line 2");
        Files.writeString(legend, "{\"#ff0000\": {\"phrase\": \"red\", \"weight\": 1e300}}");
        assertUsage(Cli.run("generate", "--model", tmp.resolve("none").toString(), "--paint-map",
                tmp.resolve("map.png").toString(), "--legend", legend.toString(), "red"), "--legend", "weight", "[0, 10]");

        Path prompts = tmp.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"a red circle\",\n");
        Cli eval = Cli.run("eval", prompts.toString(), "--model", tmp.resolve("none").toString());
        assertUsage(eval, "p.jsonl:1");

        // a bundle whose manifest is not JSON: the work fails (exit 1), still in one line
        Path bundle = Files.createDirectories(tmp.resolve("bundle"));
        Files.writeString(bundle.resolve("manifest.json"), "{\"name\": \"broken\",\n  \"stages\": [\n");
        Cli info = Cli.run("info", "--model", bundle.toString());
        assertEquals(1, info.code(), info.toString());
        assertEquals(1, info.errLines().size(), info.toString());
        assertTrue(info.err().contains("manifest.json"), info.err());
    }

    @Test
    void helpListsEveryCommandAndACommandsOwnHelpIsTheSameWhicheverWayItIsAsked() {
        // only the named subcommand is registered for a command line like "generate ...": help must not notice
        for (String[] args : new String[][] {{"--help"}, {"help"}, {}}) {
            Cli c = Cli.run(args);
            String text = c.out() + c.err();
            for (String name : Main.COMMANDS.keySet()) {
                assertTrue(text.contains("\n  " + name + " "), String.join(" ", args) + " lists " + name + ": " + text);
            }
        }
        for (String name : Main.COMMANDS.keySet()) {
            if (!name.equals("help")) {
                Cli own = Cli.run(name, "--help");
                assertEquals(0, own.code(), own.toString());
                assertEquals(Cli.run("help", name).out(), own.out(), name);
                assertTrue(own.out().contains("Usage: ediff " + name), own.out());
            }
        }
        assertEquals("generate", Main.soleCommand(new String[] {"--verbose", "generate", "info"}));
        assertEquals(null, Main.soleCommand(new String[] {"help", "generate"}));
        assertEquals(null, Main.soleCommand(new String[] {"frobnicate", "generate"}));
        assertEquals(null, Main.soleCommand(new String[] {"--help"}));
    }

    @Test
    void parserErrorsAreOneLineAndVerboseAddsTheStackTrace(@TempDir Path tmp) {
        assertUsage(Cli.run("generate", "--frobnicate", "x"), "--frobnicate", "ediff help generate");
        assertUsage(Cli.run("frobnicate"), "unknown command 'frobnicate'", "ediff help");
        assertUsage(Cli.run("generate", "--device", "gpu", "x"), "--device", "cpu, cuda or cuda:N");
        assertUsage(Cli.run("generate", "--progress", "fancy", "x"), "--progress");
        assertUsage(Cli.run("eval"), "PROMPTS");
        assertUsage(Cli.run("conformance"), "DIR");
        Cli none = Cli.run();
        assertEquals(2, none.code());
        assertTrue(none.err().contains("Usage: ediff"), none.err());
        assertEquals(0, Cli.run("help").code());
        Cli help = Cli.run("help", "generate");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--prompt-file") && help.out().contains("--device"), help.out());
        assertEquals(0, Cli.run("generate", "--help").code());

        Cli failed = Cli.run("generate", "--model", tmp.resolve("nope").toString(), "x");
        assertEquals(1, failed.code());
        assertEquals(1, failed.errLines().size(), failed.toString());
        assertFalse(failed.err().contains("\tat "), failed.err());
        Cli verbose = Cli.run("generate", "--verbose", "--model", tmp.resolve("nope").toString(), "x");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat dev.ediff"), "stack trace with --verbose: " + verbose.err());
        Cli verboseFirst = Cli.run("--verbose", "generate", "--model", tmp.resolve("nope").toString(), "x");
        assertTrue(verboseFirst.err().contains("\tat dev.ediff"), verboseFirst.err());
    }
}
