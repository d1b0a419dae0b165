package dev.ediff.onnx.rewrite;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The protobuf wire format, as far as the rewrite needs it: a message is split into its fields
 * without decoding them, so every field the rewrite does not touch (initializers, attributes,
 * metadata, fields of newer ONNX versions) is written back byte for byte.
 */
final class ProtoWire {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    /** One field: its number, wire type, and the varint value or the payload (a view, not a copy). */
    record Field(int number, int wire, long varint, ByteBuffer payload) {

        String string() {
            byte[] b = new byte[payload.remaining()];
            payload.duplicate().get(b);
            return new String(b, StandardCharsets.UTF_8);
        }

        /** The field as it was encoded (tag, length, payload). */
        int encodedSize() {
            return switch (wire) {
                case VARINT -> tagSize(number) + varintSize(varint);
                case FIXED64 -> tagSize(number) + 8;
                case FIXED32 -> tagSize(number) + 4;
                default -> tagSize(number) + varintSize(payload.remaining()) + payload.remaining();
            };
        }
    }

    private ProtoWire() {
    }

    /** Splits a message into its fields; fails with a clear message on malformed input. */
    static List<Field> parse(ByteBuffer message) {
        ByteBuffer in = message.duplicate();
        List<Field> fields = new ArrayList<>();
        while (in.hasRemaining()) {
            long tag = readVarint(in);
            int number = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            switch (wire) {
                case VARINT -> fields.add(new Field(number, wire, readVarint(in), null));
                case FIXED64, FIXED32 -> {
                    int n = wire == FIXED64 ? 8 : 4;
                    require(in.remaining() >= n, "truncated fixed-width field " + number);
                    ByteBuffer p = in.slice(in.position(), n);
                    in.position(in.position() + n);
                    fields.add(new Field(number, wire, 0, p));
                }
                case LEN -> {
                    long len = readVarint(in);
                    require(len >= 0 && len <= in.remaining(), "field " + number + " is longer than its message");
                    ByteBuffer p = in.slice(in.position(), (int) len);
                    in.position(in.position() + (int) len);
                    fields.add(new Field(number, wire, 0, p));
                }
                default -> throw new IllegalArgumentException("not an ONNX protobuf: wire type " + wire + " in field " + number);
            }
        }
        return fields;
    }

    private static void require(boolean ok, String why) {
        if (!ok) {
            throw new IllegalArgumentException("not an ONNX protobuf: " + why);
        }
    }

    static long readVarint(ByteBuffer in) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            require(in.hasRemaining(), "truncated varint");
            byte b = in.get();
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("not an ONNX protobuf: varint longer than 10 bytes");
    }

    static int tagSize(int number) {
        return varintSize((long) number << 3);
    }

    static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7fL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    /** Builds one small message (nodes, inputs, tensors the rewrite adds). */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer varint(int number, long v) {
            tag(number, VARINT);
            writeVarint(v);
            return this;
        }

        Writer string(int number, String s) {
            return bytes(number, s.getBytes(StandardCharsets.UTF_8));
        }

        Writer bytes(int number, byte[] b) {
            tag(number, LEN);
            writeVarint(b.length);
            out.writeBytes(b);
            return this;
        }

        Writer message(int number, Writer m) {
            return bytes(number, m.toByteArray());
        }

        Writer fixed32(int number, int bits) {
            tag(number, FIXED32);
            for (int i = 0; i < 4; i++) {
                out.write(bits >>> (8 * i));
            }
            return this;
        }

        /** Writes a field as it was read. */
        Writer field(Field f) {
            tag(f.number(), f.wire());
            switch (f.wire()) {
                case VARINT -> writeVarint(f.varint());
                case FIXED64, FIXED32 -> out.writeBytes(copy(f.payload()));
                default -> {
                    writeVarint(f.payload().remaining());
                    out.writeBytes(copy(f.payload()));
                }
            }
            return this;
        }

        private void tag(int number, int wire) {
            writeVarint(((long) number << 3) | wire);
        }

        private void writeVarint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        ByteBuffer toBuffer() {
            return ByteBuffer.wrap(out.toByteArray());
        }
    }

    static byte[] copy(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    /** A field as it was read: small fields re-encoded, length-delimited ones as header + the original bytes. */
    static ByteBuffer encoded(Field f) {
        if (f.wire() == LEN) {
            byte[] header = header(f.number(), f.payload().remaining());
            ByteBuffer b = ByteBuffer.allocate(header.length + f.payload().remaining());
            b.put(header).put(f.payload().duplicate()).flip();
            return b;
        }
        return new Writer().field(f).toBuffer();
    }

    /** Encodes a tag and a length prefix (for streaming a large field whose payload follows). */
    static byte[] header(int number, long length) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(16);
        long t = ((long) number << 3) | LEN;
        for (long v : new long[] {t, length}) {
            while ((v & ~0x7fL) != 0) {
                o.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            o.write((int) v);
        }
        return o.toByteArray();
    }
}
