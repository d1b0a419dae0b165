package dev.ediff.eval;

import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class JudgeTest {

    /** The committed judge ([mini-1]); -Dediff.judge=FILE points the test at another one. */
    static Path judgeFile() {
        String p = System.getProperty("ediff.judge");
        return p != null ? Path.of(p) : Path.of("..", "tools", "mini", "export", "judge", "judge.onnx");
    }

    @Test
    void decodingFollowsTheReadme() {
        float[] occ = new float[18];
        float[] shape = new float[18 * 5];
        float[] colour = new float[18 * 7];
        float[] size = new float[18 * 2];
        float[] pattern = new float[10];
        float[] tint = new float[8];
        // Image 1 of the batch: cells 2 and 6 occupied (logit > 0), cell 4 exactly 0 (empty).
        occ[9 + 2] = 1.5f;
        occ[9 + 6] = 0.1f;
        occ[9 + 4] = 0f;
        occ[9] = -3f;
        shape[(9 + 2) * 5 + 4] = 2; // star
        colour[(9 + 2) * 7 + 6] = 1; // white
        size[(9 + 2) * 2 + 1] = 1; // large
        shape[(9 + 6) * 5 + 1] = 1; // square
        colour[(9 + 6) * 7 + 4] = 5; // blue
        size[(9 + 6) * 2] = 1; // small
        pattern[5 + 3] = 1; // dots
        tint[4 + 2] = 1; // teal
        JudgedImage j = Judge.decode(occ, shape, colour, size, pattern, tint, 1);
        assertEquals(2, j.count());
        assertEquals(new JudgedImage.JudgedObject(2, 4, 6, 1), j.objects().get(0));
        assertEquals(new JudgedImage.JudgedObject(6, 1, 4, 0), j.objects().get(1));
        assertEquals(3, j.pattern());
        assertEquals(2, j.tint());
        assertEquals("[large white star @ top right, small blue square @ bottom left] on teal dots", j.toString());
        assertEquals(0, Judge.decode(occ, shape, colour, size, pattern, tint, 0).count());
        assertEquals(0, Judge.argmax(new float[] {1, 1, 0}, 0, 3), "first index on ties, as numpy");
    }

    @Test
    void missingJudgeIsAUsageError() {
        EvalException e = assertThrows(EvalException.class, () -> Judge.open(Path.of("no", "such", "judge.onnx")));
        assertEquals(EvalException.USAGE, e.exitCode());
    }

    @Test
    void realJudgeReadsBatchesOfBothSizes() {
        Path file = judgeFile();
        assumeTrue(Files.isRegularFile(file), "no judge at " + file + " yet");
        try (Judge judge = Judge.open(file)) {
            List<double[]> images64 = new ArrayList<>();
            for (int i = 0; i < Judge.BATCH + 3; i++) {
                double[] img = new double[3 * 64 * 64];
                java.util.Arrays.fill(img, -1 + 2.0 * i / (Judge.BATCH + 3));
                images64.add(img);
            }
            List<JudgedImage> all = judge.judge(images64, 64, 64);
            assertEquals(images64.size(), all.size(), "batches cover every image");
            // An image judged alone reads the same as inside a batch.
            assertEquals(all.get(Judge.BATCH + 1), judge.judge(List.of(images64.get(Judge.BATCH + 1)), 64, 64).get(0));
            double[] grey32 = new double[3 * 32 * 32];
            JudgedImage g = judge.judge(List.of(grey32), 32, 32).get(0);
            assertTrue(g.pattern() >= 0 && g.pattern() < 5 && g.tint() >= 0 && g.tint() < 4);
            assertTrue(g.count() <= 9);
            // Other sizes are resized to 64x64.
            assertEquals(1, judge.judge(List.of(new double[3 * 48 * 40]), 48, 40).size());
            BufferedImage img = new BufferedImage(100, 80, BufferedImage.TYPE_INT_RGB);
            judge.judgeImage(img);
        }
    }
}
