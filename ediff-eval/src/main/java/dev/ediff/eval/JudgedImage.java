package dev.ediff.eval;

import java.util.List;

/**
 * What the judge read in one image: the objects in its occupied cells (row-major order, as the
 * judge's decoding rule says) and the background style. Labels are indices into the lists of
 * {@link PromptSpec}.
 *
 * @param objects the objects found, by cell in row-major order
 * @param pattern index into {@link PromptSpec#PATTERNS}
 * @param tint    index into {@link PromptSpec#TINTS}
 */
public record JudgedImage(List<JudgedObject> objects, int pattern, int tint) {

    /**
     * One object the judge found.
     *
     * @param cell   0..8, row-major over the 3x3 grid
     * @param shape  index into {@link PromptSpec#SHAPES}
     * @param colour index into {@link PromptSpec#COLOURS}
     * @param size   index into {@link PromptSpec#SIZES}
     */
    public record JudgedObject(int cell, int shape, int colour, int size) {
        @Override
        public String toString() {
            return PromptSpec.SIZES.get(size) + " " + PromptSpec.COLOURS.get(colour) + " " + PromptSpec.SHAPES.get(shape)
                    + " @ " + PromptSpec.CELLS.get(cell);
        }
    }

    public JudgedImage {
        objects = List.copyOf(objects);
    }

    /** The number of objects found (occupied cells). */
    public int count() {
        return objects.size();
    }

    /** True when the background style (pattern and tint) equals {@code other}'s. */
    public boolean sameStyle(JudgedImage other) {
        return pattern == other.pattern && tint == other.tint;
    }

    @Override
    public String toString() {
        return objects + " on " + PromptSpec.TINTS.get(tint) + " " + PromptSpec.PATTERNS.get(pattern);
    }
}
