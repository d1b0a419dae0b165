package dev.ediff.api;

import java.util.Arrays;

/**
 * An immutable float32 tensor of any rank, stored flattened in row-major order. Used for
 * conditioning (text embeddings, image embeddings, masks); the first dimension is the batch.
 *
 * <p>{@link #repeatBatch} and {@link #concatBatch} do not copy: their result refers to the parts
 * it was made of (which are immutable too) and lays them out on demand, in {@link #copyTo},
 * {@link #toArray} and {@link #get}. A batch-1 prompt encoding repeated for a batch of images and
 * concatenated with its unconditional branch therefore costs a few references, whatever the batch,
 * until a backend copies it into its own input buffer.
 */
public final class Tensor {

    private final long[] shape;
    /** The values, row major; null for a tensor made of {@link #parts}. */
    private final float[] data;
    /** A composed tensor: flat tensors in batch order, part {@code i} repeated {@code repeats[i]} times. */
    private final Tensor[] parts;
    private final int[] repeats;
    private final int size;

    private Tensor(long[] shape, float[] data) {
        this.shape = shape;
        this.data = data;
        this.parts = null;
        this.repeats = null;
        this.size = data.length;
    }

    private Tensor(long[] shape, Tensor[] parts, int[] repeats, int size) {
        this.shape = shape;
        this.data = null;
        this.parts = parts;
        this.repeats = repeats;
        this.size = size;
    }

    /**
     * A tensor holding a copy of {@code data}.
     *
     * @param data  the values, row major
     * @param shape the dimensions
     * @return the tensor
     * @throws IllegalArgumentException if the shape is empty, has a dimension below 1, or does not
     *                                  match the data length
     */
    public static Tensor of(float[] data, long... shape) {
        long[] s = shape.clone();
        long n = checkedSize(s);
        if (n != data.length) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(s) + " needs " + n
                    + " values, got " + data.length);
        }
        return new Tensor(s, data.clone());
    }

    /**
     * A tensor of the given shape filled with {@code value}.
     *
     * @param value the value of every element
     * @param shape the dimensions
     * @return the tensor
     */
    public static Tensor filled(float value, long... shape) {
        long[] s = shape.clone();
        float[] d = new float[Math.toIntExact(checkedSize(s))];
        Arrays.fill(d, value);
        return new Tensor(s, d);
    }

    private static long checkedSize(long[] shape) {
        if (shape.length == 0) {
            throw new IllegalArgumentException("a tensor needs at least one dimension (the batch)");
        }
        long n = 1;
        for (long d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("tensor dimensions must be >= 1, got " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " is too large");
        }
        return n;
    }

    /** {@return the shape (a copy)} */
    public long[] shape() {
        return shape.clone();
    }

    /** {@return the rank (number of dimensions)} */
    public int rank() {
        return shape.length;
    }

    /**
     * Dimension {@code i}.
     *
     * @param i the axis
     * @return its size
     */
    public long dim(int i) {
        return shape[i];
    }

    /** {@return the batch size: the first dimension} */
    public int batch() {
        return (int) shape[0];
    }

    /** {@return number of elements} */
    public int size() {
        return size;
    }

    /**
     * Element {@code i} of the flattened data.
     *
     * @param i the index
     * @return the element
     */
    public float get(int i) {
        if (data != null) {
            return data[i];
        }
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("index " + i + " outside [0, " + size + ")");
        }
        int at = i;
        for (int p = 0; p < parts.length; p++) {
            int n = parts[p].size;
            long span = (long) n * repeats[p];
            if (at < span) {
                return parts[p].data[at % n];
            }
            at -= (int) span;
        }
        throw new IllegalStateException("unreachable");
    }

    /** {@return the data (a copy)} */
    public float[] toArray() {
        if (data != null) {
            return data.clone();
        }
        float[] d = new float[size];
        copyTo(d, 0);
        return d;
    }

    /**
     * Copies the flattened data into {@code dst} starting at {@code offset}.
     *
     * @param dst    the destination
     * @param offset where the first element goes
     */
    public void copyTo(float[] dst, int offset) {
        if (data != null) {
            System.arraycopy(data, 0, dst, offset, data.length);
            return;
        }
        if (offset < 0 || offset > dst.length - size) {
            throw new IndexOutOfBoundsException("cannot copy " + size + " values into an array of " + dst.length
                    + " at offset " + offset);
        }
        int off = offset;
        for (int p = 0; p < parts.length; p++) {
            float[] d = parts[p].data;
            for (int r = 0; r < repeats[p]; r++) {
                System.arraycopy(d, 0, dst, off, d.length);
                off += d.length;
            }
        }
    }

    /**
     * Concatenates tensors along the batch dimension; all other dimensions must agree.
     *
     * @param parts the tensors, in batch order
     * @return their concatenation
     * @throws IllegalArgumentException naming the first tensor whose trailing shape differs
     */
    public static Tensor concatBatch(Tensor... parts) {
        if (parts.length == 0) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        long[] first = parts[0].shape;
        long batch = 0;
        long total = 0;
        int runs = 0;
        for (int p = 0; p < parts.length; p++) {
            long[] s = parts[p].shape;
            if (s.length != first.length
                    || !Arrays.equals(s, 1, s.length, first, 1, first.length)) {
                throw new IllegalArgumentException("cannot concatenate along the batch: part " + p + " has shape "
                        + Arrays.toString(s) + ", part 0 has " + Arrays.toString(first));
            }
            batch += s[0];
            total += parts[p].size;
            runs += parts[p].data != null ? 1 : parts[p].parts.length;
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the concatenation of " + parts.length + " tensors of shape "
                    + Arrays.toString(first) + " is too large");
        }
        if (parts.length == 1) {
            return parts[0];
        }
        // The runs of flat tensors, the same tensor in a row merged into one run.
        Tensor[] flat = new Tensor[runs];
        int[] times = new int[runs];
        int n = 0;
        for (Tensor t : parts) {
            int count = t.data != null ? 1 : t.parts.length;
            for (int i = 0; i < count; i++) {
                Tensor f = t.data != null ? t : t.parts[i];
                int r = t.data != null ? 1 : t.repeats[i];
                if (n > 0 && flat[n - 1] == f) {
                    times[n - 1] = Math.addExact(times[n - 1], r);
                } else {
                    flat[n] = f;
                    times[n++] = r;
                }
            }
        }
        long[] shape = first.clone();
        shape[0] = batch;
        return new Tensor(shape, Arrays.copyOf(flat, n), Arrays.copyOf(times, n), (int) total);
    }

    /**
     * This tensor repeated {@code times} along the batch dimension.
     *
     * @param times how many copies, at least 1
     * @return the repeated tensor
     */
    public Tensor repeatBatch(int times) {
        if (times < 1) {
            throw new IllegalArgumentException("times must be >= 1, got " + times);
        }
        if (times == 1) {
            return this;
        }
        if (data == null) {
            Tensor[] copies = new Tensor[times];
            Arrays.fill(copies, this);
            return concatBatch(copies);
        }
        long[] s = shape.clone();
        s[0] = Math.multiplyExact(s[0], times);
        return new Tensor(s, new Tensor[] {this}, new int[] {times}, Math.toIntExact(Math.multiplyExact((long) size, times)));
    }

    /**
     * Sample {@code b} of the batch, as a tensor of batch 1.
     *
     * @param b the index in the batch
     * @return the slice
     */
    public Tensor slice(int b) {
        if (b < 0 || b >= shape[0]) {
            throw new IndexOutOfBoundsException("batch index " + b + " outside [0, " + shape[0] + ")");
        }
        if (data == null) {
            int at = b;
            for (int p = 0; p < parts.length; p++) {
                int pb = parts[p].batch();
                long span = (long) pb * repeats[p];
                if (at < span) {
                    Tensor part = parts[p];
                    return pb == 1 ? part : part.slice(at % pb);
                }
                at -= (int) span;
            }
            throw new IllegalStateException("unreachable");
        }
        int n = data.length / (int) shape[0];
        long[] s = shape.clone();
        s[0] = 1;
        return new Tensor(s, Arrays.copyOfRange(data, b * n, (b + 1) * n));
    }

    /** The flat values: this tensor's own array, or the parts laid out in a new one. */
    private float[] values() {
        return data != null ? data : toArray();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(values(), t.values());
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(values());
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
