package dev.ediff.eval;

import ai.onnx.proto.OnnxMl;
import dev.ediff.onnx.bundle.FixtureBundle;
import dev.ediff.testkit.analytic.OnnxGraphBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The eval command end to end on the fixture bundle (tiny random-weight models) with a fixture
 * judge that always reads one large red circle in the centre on a plain gray background, so the
 * table's numbers are known in advance. The fixture's base stage has no attention-bias input, so
 * the rows do not apply paint (paint inside is still scored, as for a paint=false baseline row).
 */
class EvaluationTest {

    /** A judge graph: logits = mean colour x small weights + a bias that decides the answer. */
    static byte[] fixtureJudge() {
        OnnxGraphBuilder g = new OnnxGraphBuilder("fixture-judge");
        OnnxMl.TensorProto.DataType f = OnnxMl.TensorProto.DataType.FLOAT;
        g.input("images", f, "B", 3, "H", "W");
        String mean = g.node("ReduceMean", new String[] {"images"}, OnnxGraphBuilder.attr("axes", new long[] {2, 3}),
                OnnxGraphBuilder.attr("keepdims", 0));
        head(g, mean, "occupied_logits", 9, 1, 4);
        head(g, mean, "shape_logits", 9, 5, 0);
        head(g, mean, "colour_logits", 9, 7, 0);
        head(g, mean, "size_logits", 9, 2, 1);
        head(g, mean, "pattern_logits", 1, 5, 0);
        head(g, mean, "tint_logits", 1, 4, 0);
        return g.build();
    }

    /** Output [B, cells, k] (or [B, k] for one cell / k = 1) whose argmax is {@code winner}. */
    private static void head(OnnxGraphBuilder g, String mean, String name, int cells, int k, int winner) {
        OnnxMl.TensorProto.DataType f = OnnxMl.TensorProto.DataType.FLOAT;
        int n = cells * k;
        float[] w = new float[3 * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = 0.01f * ((i * 7) % 5 - 2);
        }
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            // occupied: only cell `winner` is positive; labels: index `winner` of every cell wins.
            bias[i] = k == 1 ? (i == winner ? 5 : -5) : (i % k == winner ? 5 : -5);
        }
        String logits = g.node("Add", new String[] {g.node("MatMul", new String[] {mean, g.constant(w, 3, n)}),
                g.constant(bias, n)});
        if (cells > 1 && k > 1) {
            g.node("Reshape", name, new String[] {logits, g.constant(new long[] {-1, cells, k}, 3)});
            g.output(name, f, "B", cells, k);
        } else {
            g.node("Identity", name, new String[] {logits});
            g.output(name, f, "B", n);
        }
    }

    static void png(Path file) throws Exception {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                img.setRGB(x, y, (x * 16) << 16 | (y * 16) << 8 | 128);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
    }

    static String[] run(Evaluation.Builder options) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Evaluation.run(options.build(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {Integer.toString(rc), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void printsOneRowPerConfigWithKnownNumbers(@TempDir Path tmp) throws Exception {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Files.createDirectories(bundle.resolve("judge"));
        Files.write(bundle.resolve("judge/judge.onnx"), fixtureJudge());
        png(tmp.resolve("refs/style.png"));
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, String.join("\n",
                "# the judge always reads a large red circle in the centre",
                "a big red circle in the center\t3",
                "a small blue star",
                "{\"prompt\": \"a large red circle\", \"paint\": {\"phrase\": \"a\", \"box\": [0.3, 0.3, 0.7, 0.7]}}",
                "{\"prompt\": \"a large red circle\", \"paint\": {\"phrase\": \"a\", \"box\": [0, 0, 0.3, 0.3]},"
                        + " \"style\": \"refs/style.png\"}",
                "a big red circle left of a big red circle",
                ""));
        Path real = tmp.resolve("real");
        for (int i = 0; i < 3; i++) {
            png(real.resolve("r" + i + ".png"));
        }
        Files.writeString(real.resolve("labels.jsonl"), "{\"file\": \"r0.png\", \"prompt\": \"a big red circle in the center\"}\n"
                + "{\"file\": \"r1.png\", \"prompt\": \"a big blue circle in the center\"}\n");
        Evaluation.Builder twoRows = Evaluation.Options.builder(prompts).model(bundle).real(real).perPrompt(2)
                .config(EvalConfig.parse("a=steps=2,paint=false")).config(EvalConfig.parse("b=steps=1,upsample=bicubic,paint=false"));
        String[] r = run(twoRows);
        assertEquals("0", r[0], r[2]);
        List<String> lines = r[1].lines().toList();
        assertTrue(lines.get(0).startsWith("ediff eval " + prompts + ": 5 prompt(s) x 2 image(s)"), r[1]);
        // Real images: 1 of 2 right (the blue one is read as red).
        assertTrue(r[1].contains("| real (ceiling) | 2 | 50.0% | 100.0% | 100.0% | 50.0% | 100.0% | 100.0% | - | - | - | - | - |"),
                r[1]);
        // 10 images: prompt right for lines 2, 4, 5 (6 images); count wrong only for the pair (2 images);
        // 12 stated objects: shape right 10 (not the star); colour 10; size 10; 1 stated cell, right;
        // the pair's relation cannot hold with one object found; style: 2/2; paint inside: 2 of 4 images.
        String a = lines.stream().filter(l -> l.startsWith("| a |")).findFirst().orElseThrow();
        assertTrue(a.startsWith("| a | 10 | 60.0% | 80.0% | 66.7% | 66.7% | 66.7% | 100.0% | 0.0% | 100.0% | 50.0% | "), a);
        String b = lines.stream().filter(l -> l.startsWith("| b |")).findFirst().orElseThrow();
        assertTrue(b.startsWith("| b | 10 | 60.0% |"), b);
        String fd = a.split("\\|")[12].strip();
        assertTrue(Double.parseDouble(fd) >= 0, a);

        // prompts made 3 at a time: the same table (every prompt has its own seed), but for s/image
        String[] p = run(twoRows.jobs(3));
        assertEquals("0", p[0], p[2]);
        assertEquals(withoutTime(r[1]), withoutTime(p[1]));
    }

    /** The table without its last column (s/image, a timing). */
    private static List<String> withoutTime(String table) {
        return table.lines().map(l -> l.startsWith("|") ? l.substring(0, l.lastIndexOf('|', l.length() - 2)) : l).toList();
    }

    @Test
    void errorsAreEvalExceptionsNamingTheProblem(@TempDir Path tmp) throws Exception {
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Path prompts = tmp.resolve("p.txt");
        Files.writeString(prompts, "a big red circle\n");
        EvalException e = assertThrows(EvalException.class, () -> run(Evaluation.Options.builder(prompts).model(bundle)));
        assertTrue(e.getMessage().contains("no judge/judge.onnx"), e.getMessage());
        Files.createDirectories(bundle.resolve("judge"));
        Files.write(bundle.resolve("judge/judge.onnx"), fixtureJudge());
        e = assertThrows(EvalException.class, () -> run(Evaluation.Options.builder(prompts).model(bundle)
                .config(EvalConfig.parse("x=until=nosuch"))));
        assertTrue(e.getMessage().contains("nosuch"), e.getMessage());
        assertEquals(EvalException.USAGE, e.exitCode());

        // a prompt that fails while others are being made concurrently (its style reference is not an
        // image, which only generation finds out): its line is named and nothing hangs
        Files.write(tmp.resolve("bad.png"), new byte[] {1, 2, 3});
        Files.writeString(prompts, "a big red circle\n{\"prompt\": \"a small blue star\", \"style\": \"bad.png\"}\n"
                + "a big blue square\na big green square\n");
        e = assertThrows(EvalException.class, () -> run(Evaluation.Options.builder(prompts).model(bundle).jobs(2)
                .config(EvalConfig.parse("x=steps=2"))));
        assertTrue(e.getMessage().startsWith(prompts + ":2: ") && e.getMessage().contains("bad.png"), e.getMessage());
        assertEquals(EvalException.FAILED, e.exitCode());
    }

    @Test
    void theRequestTakesThePaintWeightAndTheLaterStagesSettingsFromTheConfig() {
        PromptFile.Entry e = PromptFile.parse(List.of("{\"prompt\": \"a big red circle\", \"seed\": 9, \"paint\":"
                + " {\"phrase\": \"red circle\", \"box\": [0, 0, 0.5, 0.5], \"weight\": 0.6}}"), "p.jsonl", null).get(0);
        List<String> stages = List.of("base", "sr64", "sr128");
        dev.ediff.api.Request plain = Evaluation.request(EvalConfig.parse("plain"), e, 1, stages);
        assertEquals(0.6, plain.paints().get(0).weight(), "the file's weight without paint_weight");
        assertTrue(plain.stagesWithOptions().isEmpty(), "no sr_ key: every stage keeps its defaults");
        dev.ediff.api.Request r = Evaluation.request(EvalConfig.parse(
                "x=paint_weight=1.5,sr_sampler=euler,sr_steps=7,sr_guidance=2,sr_augmentation_sigma=0.25"), e, 2, stages);
        assertEquals(1.5, r.paints().get(0).weight());
        assertEquals("red circle", r.paints().get(0).phrase());
        assertEquals(java.util.Set.of("sr64", "sr128"), r.stagesWithOptions(), "the first stage's settings stay on the request");
        for (String s : List.of("sr64", "sr128")) {
            dev.ediff.api.StageOptions o = r.stageOptions(s).orElseThrow();
            assertEquals(dev.ediff.core.sampling.Samplers.byName("euler").name(), o.sampler().orElseThrow().name());
            assertEquals(7, o.steps().orElseThrow());
            assertEquals(2.0, o.guidance().orElseThrow().scale());
            assertEquals(0.25, o.augmentationSigma().orElseThrow());
        }
        dev.ediff.api.StageOptions steps = Evaluation.request(EvalConfig.parse("y=sr_steps=5"), e, 1, stages)
                .stageOptions("sr64").orElseThrow();
        assertEquals(5, steps.steps().orElseThrow());
        assertTrue(steps.sampler().isEmpty() && steps.guidance().isEmpty() && steps.augmentationSigma().isEmpty());
        assertEquals(new dev.ediff.api.Guidance(6, 0.5, dev.ediff.api.NoiseInterval.atLeast(1)), Evaluation.request(
                EvalConfig.parse("g=guidance=6,guidance_rescale=0.5,guidance_lo=1"), e, 1, stages).guidance().orElseThrow());
        assertEquals(dev.ediff.api.Guidance.of(6), Evaluation.request(EvalConfig.parse("g=guidance=6"), e, 1, stages)
                .guidance().orElseThrow());
        assertTrue(Evaluation.request(EvalConfig.parse("z=paint=false,paint_weight=2"), e, 1, stages).paints().isEmpty(),
                "paint=false wins over paint_weight");
    }
}
