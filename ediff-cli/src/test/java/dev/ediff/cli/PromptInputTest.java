package dev.ediff.cli;

import dev.ediff.core.image.PngFiles;
import dev.ediff.onnx.bundle.FixtureBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Long prompts come from a file or standard input, so the process command line stays short. */
class PromptInputTest {

    /** 1,000 distinct words, about 8,000 characters: longer than the ~4 KB command line that crashed ONNX Runtime. */
    static final String LONG = IntStream.range(0, 1000).mapToObj(i -> "word" + i).collect(Collectors.joining(" "));

    @Test
    void aThousandWordPromptFromStandardInputOrAFile(@TempDir Path tmp) throws Exception {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Cli stdin = Cli.withInput(("\n  " + LONG + "\n").getBytes(StandardCharsets.UTF_8), "generate", "--model",
                bundle.toString(), "--steps", "1", "--seed", "1", "--out", tmp.resolve("a").toString(), "-");
        assertEquals(0, stdin.code(), stdin.toString());
        assertEquals(LONG, PngFiles.readText(tmp.resolve("a/ediff-1.png")).get("prompt"), "the whole prompt, stripped");
        assertTrue(stdin.err().contains("encoder dropped the end of the prompt"), "the truncation is reported: " + stdin);
        assertTrue(stdin.errLines().stream().allMatch(l -> l.length() < 200), "each note is short: " + stdin);

        Path file = tmp.resolve("prompt.txt");
        Files.writeString(file, "\uFEFF" + LONG + "\r\n");
        Cli fromFile = Cli.run("generate", "--model", bundle.toString(), "--steps", "1", "--seed", "1", "--out",
                tmp.resolve("b").toString(), "--prompt-file", file.toString());
        assertEquals(0, fromFile.code(), fromFile.toString());
        assertEquals(LONG, PngFiles.readText(tmp.resolve("b/ediff-1.png")).get("prompt"));
        assertEquals(Files.readAllBytes(tmp.resolve("a/ediff-1.png")).length,
                Files.readAllBytes(tmp.resolve("b/ediff-1.png")).length);

        Cli dash = Cli.withInput("a red circle".getBytes(StandardCharsets.UTF_8), "generate", "--model",
                bundle.toString(), "--steps", "1", "--seed", "1", "--out", tmp.resolve("c").toString(),
                "--prompt-file", "-");
        assertEquals(0, dash.code(), dash.toString());
        assertEquals("a red circle", PngFiles.readText(tmp.resolve("c/ediff-1.png")).get("prompt"));
    }

    @Test
    void badPromptSourcesAreUsageErrors(@TempDir Path tmp) throws Exception {
        String nope = tmp.resolve("none").toString();
        CommandLineErrorsTest.assertUsage(Cli.run("generate", "--model", nope, "--prompt", "a", "b"), "once");
        CommandLineErrorsTest.assertUsage(Cli.run("generate", "--model", nope, "--prompt-file", "f", "b"), "once");
        CommandLineErrorsTest.assertUsage(Cli.run("generate", "--model", nope, "--prompt-file",
                tmp.resolve("missing.txt").toString()), "missing.txt", "no such file");
        CommandLineErrorsTest.assertUsage(Cli.withInput(" \n\t".getBytes(StandardCharsets.UTF_8), "generate", "--model",
                nope, "-"), "standard input", "empty");
        Path latin1 = tmp.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9});
        CommandLineErrorsTest.assertUsage(Cli.run("generate", "--model", nope, "--prompt-file", latin1.toString()),
                "not UTF-8");
        byte[] huge = new byte[Limits.MAX_PROMPT_BYTES + 1];
        java.util.Arrays.fill(huge, (byte) 'a');
        CommandLineErrorsTest.assertUsage(Cli.withInput(huge, "generate", "--model", nope, "-"), "longer than");
    }

    @Test
    void aDroppedTextIsAbbreviated() {
        assertEquals("short", GenerateCommand.abbreviate("short"));
        String cut = GenerateCommand.abbreviate(LONG);
        assertTrue(cut.startsWith(LONG.substring(0, 60)) && cut.endsWith("... (" + (LONG.length() - 60)
                + " more characters)"), cut);
    }

    @Test
    void readingIsExactForUnicode() {
        String text = "🔴 赤い丸 and a blue square";
        assertEquals(text, PromptInput.read(new java.io.ByteArrayInputStream(("\uFEFF" + text + "\n")
                .getBytes(StandardCharsets.UTF_8)), "test"));
    }
}
