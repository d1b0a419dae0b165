package dev.ediff.onnx.internal;

import java.nio.ByteBuffer;

/**
 * Frees direct buffers when their owner closes rather than at some later garbage collection: with a
 * large young generation a collection may not come for a long time, and until it does the native
 * memory stays allocated (and resident). Not part of the API (this package is not exported).
 */
public final class DirectMemory {

    private static final Object UNSAFE;
    private static final java.lang.reflect.Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        java.lang.reflect.Method invoke = null;
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            java.lang.reflect.Field f = unsafeClass.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            invoke = unsafeClass.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            invoke = null; // not available: buffers are freed when they are collected
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = invoke;
    }

    private DirectMemory() {
    }

    /**
     * Frees a direct buffer's memory now; the buffer (and every view of it) must not be used
     * afterwards. Heap buffers, null, views and slices (which do not own their memory) are left to
     * the garbage collector, as is everything where {@code sun.misc.Unsafe} is not available.
     *
     * @param buffer a direct buffer made by {@code ByteBuffer.allocateDirect}, or a mapped one
     */
    public static void free(ByteBuffer buffer) {
        if (buffer == null || !buffer.isDirect() || INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // a view or slice, or not allowed: the collector frees it
        }
    }
}
