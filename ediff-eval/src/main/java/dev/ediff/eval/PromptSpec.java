package dev.ediff.eval;

import java.util.List;
import java.util.Objects;

/**
 * What a caption of the miniature eDiff-I's grammar states (the {@code spec} of
 * {@code tools/mini/prompts/heldout.jsonl} and of {@code mini.data.make_caption}): one or two
 * objects, each with shape, colour, size and a cell or none, and for two objects the relation
 * {@code objects[0] RELATION objects[1]}.
 *
 * @param objects  the stated objects (1 or 2)
 * @param relation {@code left}, {@code right}, {@code above}, {@code below}, or null for one object
 */
public record PromptSpec(List<ObjectSpec> objects, String relation) {

    /** Shape labels, in the judge's order. */
    public static final List<String> SHAPES = List.of("circle", "square", "triangle", "diamond", "star");
    /** Colour labels, in the judge's order. */
    public static final List<String> COLOURS = List.of("red", "orange", "yellow", "green", "blue", "purple", "white");
    /** Size labels, in the judge's order. */
    public static final List<String> SIZES = List.of("small", "large");
    /** Cell names, row-major over the 3x3 grid (index = judge cell). */
    public static final List<String> CELLS = List.of("top left", "top", "top right", "left", "center", "right",
            "bottom left", "bottom", "bottom right");
    /** Relations, {@code objects[0] REL objects[1]}. */
    public static final List<String> RELATIONS = List.of("left", "right", "above", "below");
    /** Background pattern labels, in the judge's order. */
    public static final List<String> PATTERNS = List.of("plain", "stripes", "checkerboard", "dots", "gradient");
    /** Background tint labels, in the judge's order. */
    public static final List<String> TINTS = List.of("gray", "sand", "teal", "plum");

    /**
     * One stated object.
     *
     * @param shape  one of {@link #SHAPES}
     * @param colour one of {@link #COLOURS}
     * @param size   one of {@link #SIZES}
     * @param cell   one of {@link #CELLS}, or null when the caption does not state a position
     */
    public record ObjectSpec(String shape, String colour, String size, String cell) {
        public ObjectSpec {
            check("shape", shape, SHAPES);
            check("colour", colour, COLOURS);
            check("size", size, SIZES);
            if (cell != null) {
                check("cell", cell, CELLS);
            }
        }

        /** Index of the shape in {@link #SHAPES}. */
        public int shapeIndex() {
            return SHAPES.indexOf(shape);
        }

        /** Index of the colour in {@link #COLOURS}. */
        public int colourIndex() {
            return COLOURS.indexOf(colour);
        }

        /** Index of the size in {@link #SIZES}. */
        public int sizeIndex() {
            return SIZES.indexOf(size);
        }

        /** Index of the cell in {@link #CELLS}, or -1 when none is stated. */
        public int cellIndex() {
            return cell == null ? -1 : CELLS.indexOf(cell);
        }
    }

    public PromptSpec {
        Objects.requireNonNull(objects, "objects");
        objects = List.copyOf(objects);
        if (objects.size() == 1) {
            if (relation != null) {
                throw new IllegalArgumentException("a spec with one object has no relation, got '" + relation + "'");
            }
        } else if (objects.size() == 2) {
            if (relation == null) {
                throw new IllegalArgumentException("a spec with two objects needs a relation (one of " + RELATIONS + ")");
            }
            check("relation", relation, RELATIONS);
        } else {
            throw new IllegalArgumentException("a spec states 1 or 2 objects, got " + objects.size());
        }
    }

    private static void check(String what, String value, List<String> allowed) {
        if (value == null || !allowed.contains(value)) {
            throw new IllegalArgumentException(what + " '" + value + "' is not one of " + allowed);
        }
    }

    /** True when this spec names no cell for any object (the position is free, e.g. for paint-with-words). */
    public boolean positionFree() {
        return objects.stream().allMatch(o -> o.cell() == null);
    }
}
