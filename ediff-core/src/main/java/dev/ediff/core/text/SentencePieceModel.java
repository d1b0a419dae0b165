package dev.ediff.core.text;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a SentencePiece {@code ModelProto} ({@code spiece.model}) a Unigram tokenizer needs,
 * decoded from the protobuf wire format directly (no protobuf dependency): pieces with score and
 * type (field 1), the trainer's model type and special ids (field 2), the normalizer's flags
 * (field 3).
 */
final class SentencePieceModel {

    private static final int TYPE_UNKNOWN = 2;
    private static final int TYPE_CONTROL = 3;
    private static final int MODEL_UNIGRAM = 1;

    private final List<String> pieces = new ArrayList<>();
    private final List<Float> scores = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private int modelType = MODEL_UNIGRAM;
    private int unkId = 0;
    private int bosId = 1;
    private int eosId = 2;
    private int padId = -1;
    private boolean byteFallback;
    private boolean precompiled;
    private boolean addDummyPrefix = true;
    private boolean removeExtraWhitespaces = true;
    private boolean escapeWhitespaces = true;

    private SentencePieceModel() {
    }

    static SentencePieceModel read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TokenizerFormatException(file + ": cannot read spiece.model: " + e.getMessage(), e);
        }
        SentencePieceModel m = new SentencePieceModel();
        try {
            m.parseModel(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN));
        } catch (RuntimeException e) {
            throw new TokenizerFormatException(file + ": not a SentencePiece model (protobuf ModelProto): " + e.getMessage(), e);
        }
        if (m.pieces.isEmpty()) {
            throw new TokenizerFormatException(file + ": the SentencePiece model holds no pieces");
        }
        if (m.modelType != MODEL_UNIGRAM) {
            throw new TokenizerFormatException(file + ": SentencePiece model_type " + m.modelType
                    + " is not supported; expected 1 (UNIGRAM, as T5 uses)");
        }
        if (!m.escapeWhitespaces) {
            throw new TokenizerFormatException(file + ": normalizer_spec.escape_whitespaces is false; expected true");
        }
        for (int id : new int[] {m.unkId, m.eosId, m.padId}) {
            if (id >= m.pieces.size()) {
                throw new TokenizerFormatException(file + ": special id " + id + " is outside the " + m.pieces.size() + " pieces");
            }
        }
        return m;
    }

    private void parseModel(ByteBuffer b) {
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (wire == 2 && (field == 1 || field == 2 || field == 3)) {
                ByteBuffer sub = slice(b);
                switch (field) {
                    case 1 -> parsePiece(sub);
                    case 2 -> parseTrainer(sub);
                    default -> parseNormalizer(sub);
                }
            } else {
                skip(b, wire);
            }
        }
    }

    private void parsePiece(ByteBuffer b) {
        String piece = "";
        float score = 0;
        int type = 1;
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 1 && wire == 2) {
                ByteBuffer s = slice(b);
                byte[] raw = new byte[s.remaining()];
                s.get(raw);
                piece = new String(raw, StandardCharsets.UTF_8);
            } else if (field == 2 && wire == 5) {
                score = b.getFloat();
            } else if (field == 3 && wire == 0) {
                type = (int) varint(b);
            } else {
                skip(b, wire);
            }
        }
        pieces.add(piece);
        scores.add(score);
        types.add(type);
    }

    private void parseTrainer(ByteBuffer b) {
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (wire != 0) {
                skip(b, wire);
                continue;
            }
            long v = varint(b);
            switch (field) {
                case 3 -> modelType = (int) v;
                case 35 -> byteFallback = v != 0;
                case 40 -> unkId = (int) v;
                case 41 -> bosId = (int) v;
                case 42 -> eosId = (int) v;
                case 43 -> padId = (int) v;
                default -> {
                }
            }
        }
    }

    private void parseNormalizer(ByteBuffer b) {
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 2 && wire == 2) {
                precompiled = slice(b).remaining() > 0;
            } else if (wire == 0 && field >= 3 && field <= 5) {
                boolean v = varint(b) != 0;
                switch (field) {
                    case 3 -> addDummyPrefix = v;
                    case 4 -> removeExtraWhitespaces = v;
                    default -> escapeWhitespaces = v;
                }
            } else {
                skip(b, wire);
            }
        }
    }

    private static long varint(ByteBuffer b) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte x = b.get();
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalStateException("malformed varint");
    }

    private static ByteBuffer slice(ByteBuffer b) {
        int len = (int) varint(b);
        if (len < 0 || len > b.remaining()) {
            throw new IllegalStateException("length " + len + " runs past the end");
        }
        ByteBuffer s = b.slice(b.position(), len).order(ByteOrder.LITTLE_ENDIAN);
        b.position(b.position() + len);
        return s;
    }

    private static void skip(ByteBuffer b, int wire) {
        switch (wire) {
            case 0 -> varint(b);
            case 1 -> b.position(b.position() + 8);
            case 2 -> slice(b);
            case 5 -> b.position(b.position() + 4);
            default -> throw new IllegalStateException("unsupported wire type " + wire);
        }
    }

    int size() {
        return pieces.size();
    }

    String piece(int id) {
        return pieces.get(id);
    }

    double score(int id) {
        return scores.get(id);
    }

    boolean isControlOrUnknown(int id) {
        int t = types.get(id);
        return t == TYPE_CONTROL || t == TYPE_UNKNOWN;
    }

    int unkId() {
        return unkId;
    }

    int bosId() {
        return bosId;
    }

    int eosId() {
        return eosId;
    }

    int padId() {
        return padId;
    }

    boolean byteFallback() {
        return byteFallback;
    }

    boolean precompiledCharsmap() {
        return precompiled;
    }

    boolean addDummyPrefix() {
        return addDummyPrefix;
    }

    boolean removeExtraWhitespaces() {
        return removeExtraWhitespaces;
    }
}
