package dev.ediff.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * Scores a judged image against a prompt's spec: the prompt-level check of
 * {@code mini.data.spec_matches} and per-attribute results for the quality table.
 */
public final class Scoring {

    private Scoring() {
    }

    /**
     * Per-attribute result for one image. Counts, not booleans, so that rows can add them up.
     *
     * @param match         every stated thing is right ({@link #matches})
     * @param countRight    the number of objects found equals the number stated
     * @param objects       stated objects (the denominator of shape, colour and size)
     * @param shapeRight    stated objects whose assigned found object has the stated shape
     * @param colourRight   ... the stated colour
     * @param sizeRight     ... the stated size
     * @param cells         stated cells
     * @param cellRight     stated cells the assigned object is in
     * @param relations     stated relations (0 or 1)
     * @param relationRight stated relations that hold between the assigned objects
     */
    public record Result(boolean match, boolean countRight, int objects, int shapeRight, int colourRight, int sizeRight,
                         int cells, int cellRight, int relations, int relationRight) {
    }

    /**
     * Whether the image satisfies everything the spec states, as {@code mini.data.spec_matches}:
     * the object count equals the spec's; one object: shape, colour, size (and the cell, if
     * stated) equal; two objects: some assignment of the two found objects to the spec's objects
     * has equal attributes and the relation holds on the grid.
     */
    public static boolean matches(PromptSpec spec, JudgedImage judged) {
        List<JudgedImage.JudgedObject> found = judged.objects();
        List<PromptSpec.ObjectSpec> want = spec.objects();
        if (found.size() != want.size()) {
            return false;
        }
        if (found.size() == 1) {
            return objectMatches(want.get(0), found.get(0));
        }
        for (int[] ij : new int[][] {{0, 1}, {1, 0}}) {
            JudgedImage.JudgedObject a = found.get(ij[0]);
            JudgedImage.JudgedObject b = found.get(ij[1]);
            if (objectMatches(want.get(0), a) && objectMatches(want.get(1), b) && relationHolds(spec.relation(), a, b)) {
                return true;
            }
        }
        return false;
    }

    static boolean objectMatches(PromptSpec.ObjectSpec s, JudgedImage.JudgedObject o) {
        return s.shapeIndex() == o.shape() && s.colourIndex() == o.colour() && s.sizeIndex() == o.size()
                && (s.cell() == null || s.cellIndex() == o.cell());
    }

    /** Whether {@code a REL b} holds on the 3x3 grid (columns for left/right, rows for above/below). */
    public static boolean relationHolds(String relation, JudgedImage.JudgedObject a, JudgedImage.JudgedObject b) {
        int ra = a.cell() / 3;
        int ca = a.cell() % 3;
        int rb = b.cell() / 3;
        int cb = b.cell() % 3;
        return switch (relation) {
            case "left" -> ca < cb;
            case "right" -> ca > cb;
            case "above" -> ra < rb;
            case "below" -> ra > rb;
            default -> throw new IllegalArgumentException("unknown relation '" + relation + "'");
        };
    }

    /**
     * Scores every attribute. The stated objects are assigned to distinct found objects (or to
     * none, when too few were found) so that the most stated attributes agree, the relation
     * counting as one more; ties go to the first assignment in row-major order. A stated object
     * left without a found object has all its attributes wrong. The prompt-level {@code match}
     * is {@link #matches}, independent of this assignment.
     */
    public static Result score(PromptSpec spec, JudgedImage judged) {
        List<PromptSpec.ObjectSpec> want = spec.objects();
        List<JudgedImage.JudgedObject> found = judged.objects();
        int[] best = null;
        int bestScore = -1;
        for (int[] assign : assignments(want.size(), found.size())) {
            int s = 0;
            for (int k = 0; k < want.size(); k++) {
                if (assign[k] >= 0) {
                    s += agreements(want.get(k), found.get(assign[k]));
                }
            }
            if (spec.relation() != null && assign[0] >= 0 && assign[1] >= 0
                    && relationHolds(spec.relation(), found.get(assign[0]), found.get(assign[1]))) {
                s++;
            }
            if (s > bestScore) {
                bestScore = s;
                best = assign;
            }
        }
        int shape = 0;
        int colour = 0;
        int size = 0;
        int cells = 0;
        int cellRight = 0;
        for (int k = 0; k < want.size(); k++) {
            PromptSpec.ObjectSpec w = want.get(k);
            if (w.cell() != null) {
                cells++;
            }
            if (best[k] < 0) {
                continue;
            }
            JudgedImage.JudgedObject o = found.get(best[k]);
            shape += w.shapeIndex() == o.shape() ? 1 : 0;
            colour += w.colourIndex() == o.colour() ? 1 : 0;
            size += w.sizeIndex() == o.size() ? 1 : 0;
            cellRight += w.cell() != null && w.cellIndex() == o.cell() ? 1 : 0;
        }
        int relations = spec.relation() == null ? 0 : 1;
        int relationRight = relations == 1 && best[0] >= 0 && best[1] >= 0
                && relationHolds(spec.relation(), found.get(best[0]), found.get(best[1])) ? 1 : 0;
        return new Result(matches(spec, judged), found.size() == want.size(), want.size(), shape, colour, size, cells,
                cellRight, relations, relationRight);
    }

    private static int agreements(PromptSpec.ObjectSpec w, JudgedImage.JudgedObject o) {
        return (w.shapeIndex() == o.shape() ? 1 : 0) + (w.colourIndex() == o.colour() ? 1 : 0)
                + (w.sizeIndex() == o.size() ? 1 : 0) + (w.cell() != null && w.cellIndex() == o.cell() ? 1 : 0);
    }

    /** Every injective map of m stated objects to n found ones, -1 = unassigned, in row-major order. */
    private static List<int[]> assignments(int m, int n) {
        List<int[]> out = new ArrayList<>();
        if (m == 1) {
            for (int i = 0; i < n; i++) {
                out.add(new int[] {i});
            }
            out.add(new int[] {-1});
            return out;
        }
        for (int i = -1; i < n; i++) {
            for (int j = -1; j < n; j++) {
                if (i >= 0 && i == j) {
                    continue;
                }
                out.add(new int[] {i, j});
            }
        }
        // Full assignments first, so that a tie prefers assigning objects over leaving them out.
        out.sort((x, y) -> Integer.compare(unassigned(x), unassigned(y)));
        return out;
    }

    private static int unassigned(int[] a) {
        int u = 0;
        for (int v : a) {
            u += v < 0 ? 1 : 0;
        }
        return u;
    }
}
