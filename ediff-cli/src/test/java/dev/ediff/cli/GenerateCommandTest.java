package dev.ediff.cli;

import dev.ediff.core.image.PngFiles;
import dev.ediff.onnx.bundle.FixtureBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generate and info commands on the fixture bundle (tiny random-weight ONNX models). */
class GenerateCommandTest {

    static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void generateWritesOnePngPerImageWithItsParametersAndNeverOverwrites(@TempDir Path tmp) throws Exception {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Path out = tmp.resolve("out");
        String[] r = ConformanceCommandTest.run("generate", "--model", bundle.toString(), "--seed", "5", "--count", "2",
                "--steps", "3", "--sampler", "dpmpp_2m", "--out", out.toString(), "--all-stages", "a red circle");
        assertEquals("0", r[0], r[2]);
        assertEquals(List.of("ediff-5-base.png", "ediff-5.png", "ediff-6-base.png", "ediff-6.png"), files(out));
        Map<String, String> text = PngFiles.readText(out.resolve("ediff-6.png"));
        assertEquals("a red circle", text.get("prompt"));
        assertEquals("6", text.get("seed"));
        assertEquals("dpmpp_2m", text.get("sampler"));
        assertEquals("3", text.get("steps"));
        assertTrue(r[2].contains("step 3/3"), "progress is shown: " + r[2]);

        byte[] before = Files.readAllBytes(out.resolve("ediff-5.png"));
        String[] again = ConformanceCommandTest.run("generate", "--model", bundle.toString(), "--seed", "5",
                "--steps", "2", "--out", out.toString(), "a blue square");
        assertEquals("1", again[0]);
        assertTrue(again[2].contains("already exists"), again[2]);
        assertFalse(again[2].contains("at dev.ediff"), "no stack trace without --verbose");
        assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(Files.readAllBytes(out.resolve("ediff-5.png"))));
        assertTrue(files(out).stream().noneMatch(f -> f.endsWith(".part")), "no partial file: " + files(out));
        String[] over = ConformanceCommandTest.run("generate", "--model", bundle.toString(), "--seed", "5",
                "--steps", "2", "--out", out.toString(), "--overwrite", "a blue square");
        assertEquals("0", over[0], over[2]);
        assertEquals("a blue square", PngFiles.readText(out.resolve("ediff-5.png")).get("prompt"));
    }

    /** The fixture bundle with a prompt layout whose phrases fit its 8 tokens (nouns "cat", "red"; cells "x" .. "w"). */
    static Path layoutBundle(Path dir) throws Exception {
        FixtureBundle.create(dir);
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode m =
                (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(dir.resolve("manifest.json").toFile());
        m.set("layout", json.readTree("{\"grid\": 2, \"nouns\": [\"cat\", \"red\"], \"cells\": [[\"x\"], [\"y\"], [\"z\"],"
                + " [\"w\"]], \"relations\": {\"above\": [\"above\"]}, \"placements\": {\"above\": [0, 3]}}"));
        Files.write(dir.resolve("manifest.json"), json.writeValueAsBytes(m));
        return dir;
    }

    @Test
    void aLaidOutPromptShowsItsPhrasesAndNoLayoutEncodesItWhole(@TempDir Path tmp) throws Exception {
        Path bundle = layoutBundle(tmp.resolve("bundle"));
        Path out = tmp.resolve("out");
        String[] r = ConformanceCommandTest.run("generate", "--model", bundle.toString(), "--seed", "5", "--steps", "2",
                "--out", out.toString(), "--name", "laid", "cat above red");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("layout: \"cat x\" + \"red w\""), r[2]);
        Map<String, String> text = PngFiles.readText(out.resolve("laid-5.png"));
        assertEquals("true", text.get("layout"));
        assertEquals("cat x | red w", text.get("layout_phrases"));

        String[] whole = ConformanceCommandTest.run("generate", "--model", bundle.toString(), "--seed", "5", "--steps", "2",
                "--out", out.toString(), "--name", "whole", "--no-layout", "cat above red");
        assertEquals("0", whole[0], whole[2]);
        assertFalse(whole[2].contains("layout:"), whole[2]);
        assertEquals("false", PngFiles.readText(out.resolve("whole-5.png")).get("layout"));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(out.resolve("laid-5.png")),
                Files.readAllBytes(out.resolve("whole-5.png"))));

        String[] info = ConformanceCommandTest.run("info", "--model", bundle.toString());
        assertEquals("0", info[0], info[2]);
        assertTrue(info[1].contains("prompt layout  2x2 cells, nouns cat,red, 0 modifiers, relations [above]"), info[1]);
    }

    @Test
    void badArgumentsGiveUsageErrors(@TempDir Path tmp) {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        String[][] cases = {
                {"generate", "--model", bundle.toString(), "--steps", "zero", "x"},
                {"generate", "--model", bundle.toString(), "--sampler", "ddim", "x"},
                {"generate", "--model", bundle.toString(), "--paint", "red=blob:0.4", "red"},
                {"generate", "--model", bundle.toString(), "--paint", "red=rect(0,0,1,1):-1", "red"},
                {"generate", "--model", bundle.toString(), "--frobnicate", "x"},
        };
        for (String[] c : cases) {
            String[] r = ConformanceCommandTest.run(c);
            assertTrue(!r[0].equals("0"), String.join(" ", c) + " -> " + r[0]);
            assertFalse(r[2].contains("\tat "), "no stack trace: " + r[2]);
        }
        assertEquals("2", ConformanceCommandTest.run(cases[0])[0]);
        assertTrue(ConformanceCommandTest.run(cases[1])[2].contains("unknown sampler 'ddim'"));
        assertTrue(ConformanceCommandTest.run(cases[3])[2].contains("weight"));
        String[] missing = ConformanceCommandTest.run("generate", "--model", tmp.resolve("nope").toString(), "x");
        assertEquals("1", missing[0]);
        assertTrue(missing[2].contains("nope"), missing[2]);
    }

    @Test
    void benchSplitsModelAndSdkTime(@TempDir Path tmp) {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        String[] r = ConformanceCommandTest.run("bench", "--model", bundle.toString(), "--steps", "4", "--runs", "1");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("model ms/st") && r[1].contains("base") && r[1].contains("sr"), r[1]);
        assertTrue(r[1].contains("resident memory"), r[1]);
    }

    @Test
    void infoDescribesTheBundle(@TempDir Path tmp) {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        String[] r = ConformanceCommandTest.run("info", "--model", bundle.toString(), "--check");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("text encoder t5") && r[1].contains("text encoder clip"), r[1]);
        assertTrue(r[1].contains("stage base") && r[1].contains("stage sr"), r[1]);
        assertTrue(r[1].contains("[5.0, inf)"), r[1]);
        assertTrue(r[1].contains("check: every model opened"), r[1]);
    }
}
