package dev.ediff.api;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Tensors composed by {@link Tensor#repeatBatch} and {@link Tensor#concatBatch} (which refer to
 * their parts instead of copying them) against the same layout written out by hand, element by
 * element: the values, the shape, slices, equality and hashing.
 */
class TensorTest {

    private static Tensor random(Random r, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] d = new float[(int) n];
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextFloat() * 2 - 1;
        }
        return Tensor.of(d, shape);
    }

    /** The parts, each repeated as given, laid out along the batch one after another by plain loops. */
    private static float[] byHand(Tensor[] parts, int[] times) {
        int n = 0;
        for (int p = 0; p < parts.length; p++) {
            n += parts[p].size() * times[p];
        }
        float[] out = new float[n];
        int o = 0;
        for (int p = 0; p < parts.length; p++) {
            for (int t = 0; t < times[p]; t++) {
                for (int i = 0; i < parts[p].size(); i++) {
                    out[o++] = parts[p].get(i);
                }
            }
        }
        return out;
    }

    @Test
    void repeatedAndConcatenatedTensorsHoldTheValuesLaidOutByHand() {
        Random r = new Random(3);
        Tensor cond = random(r, 1, 5, 7);
        Tensor uncond = random(r, 1, 5, 7);
        Tensor two = random(r, 2, 5, 7);
        for (int batch : new int[] {1, 2, 4, 16}) {
            Tensor c = cond.repeatBatch(batch);
            Tensor u = uncond.repeatBatch(batch);
            Tensor both = Tensor.concatBatch(u, c, two, c);
            float[] expected = byHand(new Tensor[] {uncond, cond, two, cond}, new int[] {batch, batch, 1, batch});
            assertArrayEquals(new long[] {3L * batch + 2, 5, 7}, both.shape());
            assertEquals(expected.length, both.size());
            assertArrayEquals(expected, both.toArray());
            float[] into = new float[expected.length + 3];
            both.copyTo(into, 2);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], into[i + 2], "copyTo at " + i);
                assertEquals(expected[i], both.get(i), "get(" + i + ")");
            }
            assertEquals(Tensor.of(expected, 3L * batch + 2, 5, 7), both);
            assertEquals(Tensor.of(expected, 3L * batch + 2, 5, 7).hashCode(), both.hashCode());
            int per = 35;
            for (int b = 0; b < both.batch(); b++) {
                float[] slice = java.util.Arrays.copyOfRange(expected, b * per, (b + 1) * per);
                assertEquals(Tensor.of(slice, 1, 5, 7), both.slice(b), "slice " + b);
            }
        }
    }

    @Test
    void aComposedTensorRepeatedAgainIsTheLayoutRepeated() {
        Random r = new Random(5);
        Tensor a = random(r, 1, 3);
        Tensor b = random(r, 2, 3);
        Tensor ab = Tensor.concatBatch(a.repeatBatch(2), b);
        Tensor again = ab.repeatBatch(3);
        float[] once = byHand(new Tensor[] {a, b}, new int[] {2, 1});
        float[] expected = new float[once.length * 3];
        for (int t = 0; t < 3; t++) {
            System.arraycopy(once, 0, expected, t * once.length, once.length);
        }
        assertArrayEquals(expected, again.toArray());
        assertArrayEquals(new long[] {12, 3}, again.shape());
    }

    @Test
    void composedTensorsCheckIndicesAndShapes() {
        Tensor t = Tensor.filled(1f, 1, 4).repeatBatch(3);
        assertThrows(IndexOutOfBoundsException.class, () -> t.get(12));
        assertThrows(IndexOutOfBoundsException.class, () -> t.get(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> t.slice(3));
        assertThrows(IndexOutOfBoundsException.class, () -> t.copyTo(new float[12], 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.concatBatch(t, Tensor.filled(0f, 1, 5)));
        assertEquals("cannot concatenate along the batch: part 1 has shape [1, 5], part 0 has [3, 4]", e.getMessage());
    }
}
