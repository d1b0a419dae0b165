package dev.ediff.api;

import java.util.Arrays;

/**
 * An immutable float32 tensor of any rank, stored flattened in row-major order. Used for
 * conditioning (text embeddings, image embeddings, masks); the first dimension is the batch.
 */
public final class Tensor {

    private final long[] shape;
    private final float[] data;

    private Tensor(long[] shape, float[] data) {
        this.shape = shape;
        this.data = data;
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
        return data.length;
    }

    /**
     * Element {@code i} of the flattened data.
     *
     * @param i the index
     * @return the element
     */
    public float get(int i) {
        return data[i];
    }

    /** {@return the data (a copy)} */
    public float[] toArray() {
        return data.clone();
    }

    /**
     * Copies the flattened data into {@code dst} starting at {@code offset}.
     *
     * @param dst    the destination
     * @param offset where the first element goes
     */
    public void copyTo(float[] dst, int offset) {
        System.arraycopy(data, 0, dst, offset, data.length);
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
        int total = 0;
        for (int p = 0; p < parts.length; p++) {
            long[] s = parts[p].shape;
            if (s.length != first.length
                    || !Arrays.equals(s, 1, s.length, first, 1, first.length)) {
                throw new IllegalArgumentException("cannot concatenate along the batch: part " + p + " has shape "
                        + Arrays.toString(s) + ", part 0 has " + Arrays.toString(first));
            }
            batch += s[0];
            total += parts[p].data.length;
        }
        float[] d = new float[total];
        int off = 0;
        for (Tensor t : parts) {
            System.arraycopy(t.data, 0, d, off, t.data.length);
            off += t.data.length;
        }
        long[] shape = first.clone();
        shape[0] = batch;
        return new Tensor(shape, d);
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
        Tensor[] parts = new Tensor[times];
        Arrays.fill(parts, this);
        return times == 1 ? this : concatBatch(parts);
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
        int n = data.length / (int) shape[0];
        long[] s = shape.clone();
        s[0] = 1;
        return new Tensor(s, Arrays.copyOfRange(data, b * n, (b + 1) * n));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
