package dev.ediff.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.platform.Fp16Conversions;
import dev.ediff.api.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * The direct, native-order memory behind one ONNX tensor (float32 or float16), which ONNX Runtime
 * reads and writes in place, plus a heap staging array of the same element type so that
 * conversions run as plain array loops followed by one bulk copy. Everything is allocated once.
 */
abstract sealed class NativeBuffer {

    /** A buffer of {@code n} elements of {@code type} (FLOAT or FLOAT16). */
    static NativeBuffer allocate(OnnxJavaType type, int n) {
        return switch (type) {
            case FLOAT -> new Float32(n);
            case FLOAT16 -> new Float16(n);
            default -> throw new IllegalArgumentException("no native buffer for " + type);
        };
    }

    private static ByteBuffer direct(int n, int bytes) {
        return ByteBuffer.allocateDirect(Math.multiplyExact(n, bytes)).order(ByteOrder.nativeOrder());
    }

    /** The direct memory (owned by this buffer). */
    private ByteBuffer memory;

    /** Allocates the direct memory of {@code n} elements of {@code bytes} bytes, owned by this buffer. */
    final ByteBuffer own(int n, int bytes) {
        memory = direct(n, bytes);
        return memory;
    }

    /**
     * Frees the direct memory now (the tensors wrapping it must be closed first, and the buffer is
     * not used again), instead of at some later garbage collection.
     */
    final void free() {
        ByteBuffer m = memory;
        memory = null;
        dev.ediff.onnx.internal.DirectMemory.free(m);
    }

    /** Wraps the buffer, without copying, as a tensor of {@code shape}. The caller owns the tensor. */
    abstract OnnxTensor wrap(OrtEnvironment env, long[] shape) throws OrtException;

    /** Writes {@code scale * src[i]} into element i. */
    abstract void write(double[] src, double scale);

    /** Writes {@code values} as they are. */
    abstract void write(float[] values);

    /** Writes the elements of {@code values} as they are (its size must be this buffer's). */
    abstract void write(Tensor values);

    /** Sets every element to {@code value}. */
    abstract void fill(float value);

    /** Writes {@code a * x[i] + b * element_i} into {@code dst[i]} (the parameterization of the output). */
    abstract void read(double[] x, double a, double b, double[] dst);

    /** float32: a FloatBuffer view of direct memory. */
    static final class Float32 extends NativeBuffer {
        private final FloatBuffer buffer;
        private float[] staging;

        Float32(int n) {
            buffer = own(n, Float.BYTES).asFloatBuffer();
        }

        /** The heap staging array, made on first use (a conditioning buffer that is only filled never needs one). */
        private float[] staging() {
            if (staging == null) {
                staging = new float[buffer.capacity()];
            }
            return staging;
        }

        @Override
        OnnxTensor wrap(OrtEnvironment env, long[] shape) throws OrtException {
            return OnnxTensor.createTensor(env, buffer, shape);
        }

        @Override
        void write(double[] src, double scale) {
            float[] s = staging();
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) (scale * src[i]);
            }
            buffer.put(0, s);
        }

        @Override
        void write(float[] values) {
            buffer.put(0, values);
        }

        @Override
        void write(Tensor values) {
            float[] s = staging();
            values.copyTo(s, 0);
            buffer.put(0, s);
        }

        @Override
        void fill(float value) {
            for (int i = 0, n = buffer.capacity(); i < n; i++) {
                buffer.put(i, value);
            }
        }

        @Override
        void read(double[] x, double a, double b, double[] dst) {
            float[] s = staging();
            buffer.get(0, s);
            if (a == 0) {
                for (int i = 0; i < s.length; i++) {
                    dst[i] = b * s[i];
                }
            } else {
                for (int i = 0; i < s.length; i++) {
                    dst[i] = a * x[i] + b * s[i];
                }
            }
        }
    }

    /** float16: a ShortBuffer view of direct memory holding IEEE half-precision bits. */
    static final class Float16 extends NativeBuffer {
        private final ShortBuffer buffer;
        private final short[] staging;

        Float16(int n) {
            buffer = own(n, Short.BYTES).asShortBuffer();
            staging = new short[n];
        }

        @Override
        OnnxTensor wrap(OrtEnvironment env, long[] shape) throws OrtException {
            return OnnxTensor.createTensor(env, buffer, shape, OnnxJavaType.FLOAT16);
        }

        @Override
        void write(double[] src, double scale) {
            short[] s = staging;
            for (int i = 0; i < s.length; i++) {
                s[i] = Fp16Conversions.floatToFp16((float) (scale * src[i]));
            }
            buffer.put(0, s);
        }

        @Override
        void write(float[] values) {
            short[] s = staging.length == values.length ? staging : new short[values.length];
            for (int i = 0; i < values.length; i++) {
                s[i] = Fp16Conversions.floatToFp16(values[i]);
            }
            buffer.put(0, s);
        }

        @Override
        void write(Tensor values) {
            write(values.toArray());
        }

        @Override
        void fill(float value) {
            short h = Fp16Conversions.floatToFp16(value);
            for (int i = 0, n = buffer.capacity(); i < n; i++) {
                buffer.put(i, h);
            }
        }

        @Override
        void read(double[] x, double a, double b, double[] dst) {
            short[] s = staging;
            buffer.get(0, s);
            for (int i = 0; i < s.length; i++) {
                dst[i] = a * x[i] + b * Fp16Conversions.fp16ToFloat(s[i]);
            }
        }
    }
}
