package dev.ediff.api;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.function.DoubleConsumer;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every numeric input of the API has a documented range: values at its ends are accepted, values
 * beyond, NaN and infinities are refused with one line naming the field, the value and the range.
 */
class InputBoundsTest {

    static void intRange(String field, int min, int max, IntConsumer set) {
        assertDoesNotThrow(() -> set.accept(min), field + " " + min);
        assertDoesNotThrow(() -> set.accept(max), field + " " + max);
        for (int bad : new int[] {min - 1, max + 1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            String m = assertThrows(IllegalArgumentException.class, () -> set.accept(bad), field + " " + bad).getMessage();
            assertOneLine(m, field, Integer.toString(bad), min + ".." + max);
        }
    }

    static void doubleRange(String field, double min, double max, String range, DoubleConsumer set) {
        assertDoesNotThrow(() -> set.accept(min), field + " " + min);
        assertDoesNotThrow(() -> set.accept(max), field + " " + max);
        for (double bad : new double[] {Math.nextDown(min), Math.nextUp(max), -1e300, 1e300, 1e308, Double.NaN,
                Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            String m = assertThrows(IllegalArgumentException.class, () -> set.accept(bad), field + " " + bad).getMessage();
            assertOneLine(m, field, Double.toString(bad), range);
        }
    }

    static void assertOneLine(String message, String field, String value, String range) {
        assertFalse(message.contains("\n"), "one line: " + message);
        assertTrue(message.startsWith(field), "names the field '" + field + "': " + message);
        assertTrue(message.contains(value), "names the value " + value + ": " + message);
        assertTrue(message.contains(range), "names the range " + range + ": " + message);
    }

    static final Sampler NO_SAMPLER = new Sampler() {
        @Override
        public String name() {
            return "none";
        }

        @Override
        public void sample(Denoiser model, double[] x, double[] sigmas, NoiseSource noise, StepCallback callback) {
        }
    };

    @Test
    void countIsOneTo4096() {
        intRange("count", 1, Request.MAX_COUNT, n -> Request.builder().count(n));
        assertTrue(Request.MAX_COUNT == 4096);
    }

    @Test
    void stepsAreOneToAThousandInTheRequestAndInStageOptions() {
        intRange("steps", 1, Request.MAX_STEPS, n -> Request.builder().steps(n));
        intRange("steps", 1, Request.MAX_STEPS, n -> StageOptions.defaults().steps(n));
        intRange("steps", 1, Request.MAX_STEPS, n -> StageOptions.defaults().sampler(NO_SAMPLER, n));
        assertTrue(Request.MAX_STEPS == 1000);
    }

    @Test
    void guidanceScaleIsZeroToAHundredAndRescaleZeroToOne() {
        doubleRange("guidance scale", 0, Guidance.MAX_SCALE, "[0, 100]", Guidance::of);
        doubleRange("guidance scale", 0, Guidance.MAX_SCALE, "[0, 100]", g -> Request.builder().guidance(g));
        doubleRange("guidance rescale", 0, 1, "[0, 1]", r -> Guidance.of(2).withRescale(r));
    }

    @Test
    void styleStrengthIsZeroToAHundred() {
        doubleRange("style strength", 0, Request.MAX_STYLE_STRENGTH, "[0, 100]",
                s -> Request.builder().style(Path.of("style.png"), s));
        doubleRange("style strength", 0, Request.MAX_STYLE_STRENGTH, "[0, 100]",
                s -> Request.builder().style(new java.awt.image.BufferedImage(2, 2, 1), s));
    }

    @Test
    void paintWeightIsZeroToTenAndNamesThePhrase() {
        Mask m = Mask.rectangle(0, 0, 0.5, 0.5);
        doubleRange("paint weight for 'red circle'", 0, Paint.MAX_WEIGHT, "[0, 10]",
                w -> Request.builder().paint("red circle", m, w));
    }

    @Test
    void augmentationSigmaIsZeroToAHundred() {
        doubleRange("augmentation sigma", 0, StageOptions.MAX_AUGMENTATION_SIGMA, "[0, 100]",
                s -> StageOptions.defaults().augmentationSigma(s));
    }
}
