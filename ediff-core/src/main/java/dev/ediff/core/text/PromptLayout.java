package dev.ediff.core.text;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's prompt layout: the vocabulary it was trained on (object nouns and their modifiers), the
 * phrases that name each cell of a {@code grid x grid} layout, the relation phrases, and where a
 * relation puts its two objects. {@link #phrases(String)} turns a two-object prompt into one phrase
 * per object, each with its cell, so that the text encoders can encode every object's phrase on its
 * own: {@code "a small red circle above a large blue square"} becomes
 * {@code ["a small red circle at the top", "a large blue square at the bottom"]}. Prompts with no,
 * one, or more than two objects stay whole.
 *
 * <p>The planner is rule-based and pure, a function of the prompt and this vocabulary:
 * <ol>
 *   <li>The prompt is lower-cased; its words are the runs of {@code a..z} (anything else separates words).</li>
 *   <li>An object mention is a maximal run {@code [a|an|the] modifier* noun}, read left to right.</li>
 *   <li>With exactly two mentions A and B: the first relation phrase between them (the longest at
 *       the earliest word) is the relation; then cell phrases (longest first) are read in the rest
 *       of the prompt, each belonging to the mention before it (one before A belongs to A; a
 *       mention keeps its first cell).</li>
 *   <li>When there is a relation and neither mention states a cell, the cells are the relation's
 *       placement; otherwise stated cells are kept and a mention without one gets none.</li>
 *   <li>Each phrase is the mention as written, then a space and the cell's first (canonical)
 *       phrase when it has a cell. Every other word of the prompt is dropped.</li>
 * </ol>
 * Immutable; lists and maps are unmodifiable copies.
 *
 * @param grid       the number of rows and columns of the layout
 * @param nouns      the object nouns, single lower-case words
 * @param modifiers  the words that may stand between an article and a noun (sizes, colours), single lower-case words
 * @param cells      {@code grid * grid} lists of phrases, row-major (cell 0 is the top left); the first phrase of
 *                   each list is the one the planner writes
 * @param relations  relation name to its phrases ({@code "above" -> ["above", "over", "on top of"]})
 * @param placements relation name to {@code [cell of A, cell of B]} for a prompt "A relation B"
 */
public record PromptLayout(int grid, List<String> nouns, List<String> modifiers, List<List<String>> cells,
                           Map<String, List<String>> relations, Map<String, List<Integer>> placements) {

    /** The largest grid: 16 x 16 cells. */
    public static final int MAX_GRID = 16;

    private static final Pattern WORD = Pattern.compile("[a-z]+");
    private static final Pattern PHRASE = Pattern.compile("[a-z]+( [a-z]+)*");
    private static final List<String> ARTICLES = List.of("a", "an", "the");

    /**
     * Checks the layout and copies its lists and maps.
     *
     * @param grid       the number of rows and columns, 1..{@value #MAX_GRID}
     * @param nouns      the object nouns: non-empty, single lower-case words
     * @param modifiers  the modifiers: single lower-case words, none of them a noun
     * @param cells      {@code grid * grid} non-empty lists of phrases (lower-case words separated by single spaces)
     * @param relations  relation name to a non-empty list of phrases
     * @param placements relation name (a key of {@code relations}) to two distinct cells in {@code 0..grid*grid-1}
     * @throws IllegalArgumentException naming the field that is wrong and what would be right
     */
    public PromptLayout {
        if (grid < 1 || grid > MAX_GRID) {
            throw new IllegalArgumentException("grid must be in 1.." + MAX_GRID + ", got " + grid);
        }
        Objects.requireNonNull(nouns, "nouns");
        Objects.requireNonNull(modifiers, "modifiers");
        Objects.requireNonNull(cells, "cells");
        Objects.requireNonNull(relations, "relations");
        Objects.requireNonNull(placements, "placements");
        if (nouns.isEmpty()) {
            throw new IllegalArgumentException("nouns must name at least one object noun");
        }
        Map<String, String> words = new HashMap<>();
        for (int i = 0; i < nouns.size(); i++) {
            word(nouns.get(i), "nouns[" + i + "]", words);
        }
        for (int i = 0; i < modifiers.size(); i++) {
            word(modifiers.get(i), "modifiers[" + i + "]", words);
        }
        int count = grid * grid;
        if (cells.size() != count) {
            throw new IllegalArgumentException("cells has " + cells.size() + " lists but a grid of " + grid + " needs "
                    + count + " (one list of phrases per cell, row-major)");
        }
        Map<String, String> phrases = new HashMap<>();
        List<List<String>> cellCopy = new ArrayList<>();
        for (int c = 0; c < count; c++) {
            cellCopy.add(phraseList(cells.get(c), "cells[" + c + "]", phrases));
        }
        Map<String, List<String>> relCopy = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : relations.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("relations has an empty relation name");
            }
            relCopy.put(name, phraseList(e.getValue(), "relations." + name, phrases));
        }
        Map<String, List<Integer>> placeCopy = new LinkedHashMap<>();
        for (Map.Entry<String, List<Integer>> e : placements.entrySet()) {
            String where = "placements." + e.getKey();
            if (!relCopy.containsKey(e.getKey())) {
                throw new IllegalArgumentException(where + " names no relation; relations are " + relCopy.keySet());
            }
            List<Integer> p = e.getValue();
            if (p == null || p.size() != 2 || p.get(0) == null || p.get(1) == null) {
                throw new IllegalArgumentException(where + " must be two cells [cell of A, cell of B], got " + p);
            }
            for (int k = 0; k < 2; k++) {
                if (p.get(k) < 0 || p.get(k) >= count) {
                    throw new IllegalArgumentException(where + "[" + k + "] is " + p.get(k) + "; cells are 0.." + (count - 1)
                            + " (row-major)");
                }
            }
            if (p.get(0).equals(p.get(1))) {
                throw new IllegalArgumentException(where + " puts both objects in cell " + p.get(0)
                        + "; the two cells must differ");
            }
            placeCopy.put(e.getKey(), List.copyOf(p));
        }
        nouns = List.copyOf(nouns);
        modifiers = List.copyOf(modifiers);
        cells = List.copyOf(cellCopy);
        relations = java.util.Collections.unmodifiableMap(relCopy);
        placements = java.util.Collections.unmodifiableMap(placeCopy);
    }

    private static void word(String w, String where, Map<String, String> seen) {
        if (w == null || !WORD.matcher(w).matches()) {
            throw new IllegalArgumentException(where + " must be one lower-case word (letters a-z), got "
                    + (w == null ? "null" : "'" + w + "'"));
        }
        if (ARTICLES.contains(w)) {
            throw new IllegalArgumentException(where + " is the article '" + w + "'; nouns and modifiers cannot be articles");
        }
        String before = seen.putIfAbsent(w, where);
        if (before != null) {
            throw new IllegalArgumentException(where + " '" + w + "' is also " + before + "; each word once");
        }
    }

    private static List<String> phraseList(List<String> list, String where, Map<String, String> seen) {
        if (list == null || list.isEmpty()) {
            throw new IllegalArgumentException(where + " must be a non-empty list of phrases");
        }
        for (int i = 0; i < list.size(); i++) {
            String p = list.get(i);
            String at = where + "[" + i + "]";
            if (p == null || !PHRASE.matcher(p).matches()) {
                throw new IllegalArgumentException(at + " must be lower-case words (a-z) separated by single spaces, got "
                        + (p == null ? "null" : "'" + p + "'"));
            }
            String before = seen.putIfAbsent(p, at);
            if (before != null) {
                throw new IllegalArgumentException(at + " '" + p + "' is also " + before + "; each phrase once");
            }
        }
        return List.copyOf(list);
    }

    /**
     * The phrase the planner writes for a cell: the first of its list.
     *
     * @param cell the cell, {@code 0..grid*grid-1}, row-major
     * @return its canonical phrase
     * @throws IndexOutOfBoundsException for a cell outside the grid
     */
    public String cellPhrase(int cell) {
        return cells.get(cell).get(0);
    }

    /**
     * The phrases to encode for {@code prompt}: two phrases, one per object with its cell, when
     * the prompt names exactly two objects; else the prompt itself, whole and unchanged.
     *
     * @param prompt the prompt
     * @return two phrases, or a list of one element, {@code prompt}
     */
    public List<String> phrases(String prompt) {
        List<String> words = new ArrayList<>();
        Matcher m = WORD.matcher(prompt.toLowerCase(Locale.ROOT));
        while (m.find()) {
            words.add(m.group());
        }
        List<int[]> mentions = mentions(words);
        if (mentions.size() != 2) {
            return List.of(prompt);
        }
        int[] a = mentions.get(0);
        int[] b = mentions.get(1);
        // [start, end) of the relation phrase between A and B, and its name
        int[] relSpan = null;
        String relation = null;
        List<String> relationNames = List.copyOf(relations.keySet());
        List<List<String>> relationPhrases = List.copyOf(relations.values());
        for (int i = a[1]; i < b[0] && relation == null; i++) {
            int[] hit = longestMatch(words, i, b[0], relationPhrases);
            if (hit != null) {
                relation = relationNames.get(hit[0]);
                relSpan = new int[] {i, i + hit[1]};
            }
        }
        int[] cellOf = {-1, -1};
        List<int[]> free = new ArrayList<>(); // word ranges outside the mentions and the relation, with their owner
        free.add(new int[] {0, a[0], 0});
        if (relSpan == null) {
            free.add(new int[] {a[1], b[0], 0});
        } else {
            free.add(new int[] {a[1], relSpan[0], 0});
            free.add(new int[] {relSpan[1], b[0], 0});
        }
        free.add(new int[] {b[1], words.size(), 1});
        for (int[] range : free) {
            for (int i = range[0]; i < range[1]; ) {
                int[] hit = longestMatch(words, i, range[1], cells);
                if (hit != null && cellOf[range[2]] < 0) {
                    cellOf[range[2]] = hit[0];
                }
                i += hit == null ? 1 : hit[1];
            }
        }
        if (relation != null && cellOf[0] < 0 && cellOf[1] < 0 && placements.containsKey(relation)) {
            cellOf[0] = placements.get(relation).get(0);
            cellOf[1] = placements.get(relation).get(1);
        }
        return List.of(phrase(words, a, cellOf[0]), phrase(words, b, cellOf[1]));
    }

    private String phrase(List<String> words, int[] mention, int cell) {
        String text = String.join(" ", words.subList(mention[0], mention[1]));
        return cell < 0 ? text : text + " " + cellPhrase(cell);
    }

    /** The object mentions {@code [start, end)} of {@code words}, left to right. */
    private List<int[]> mentions(List<String> words) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < words.size(); ) {
            int j = i;
            if (ARTICLES.contains(words.get(j))) {
                j++;
            }
            while (j < words.size() && modifiers.contains(words.get(j))) {
                j++;
            }
            if (j < words.size() && nouns.contains(words.get(j))) {
                out.add(new int[] {i, j + 1});
                i = j + 1;
            } else {
                i++;
            }
        }
        return out;
    }

    /**
     * The longest phrase of {@code families} (the first of equal length) that matches {@code words}
     * at {@code i} without passing {@code end}: {@code {index of its family, its number of words}},
     * or null when none does.
     */
    private static int[] longestMatch(List<String> words, int i, int end, List<List<String>> families) {
        int[] best = null;
        for (int f = 0; f < families.size(); f++) {
            for (String p : families.get(f)) {
                int len = matchAt(words, i, end, p);
                if (len > 0 && (best == null || len > best[1])) {
                    best = new int[] {f, len};
                }
            }
        }
        return best;
    }

    /** The number of words of {@code phrase} when it matches {@code words} at {@code i} without passing {@code end}, else 0. */
    private static int matchAt(List<String> words, int i, int end, String phrase) {
        String[] p = phrase.split(" ");
        if (i + p.length > end) {
            return 0;
        }
        for (int k = 0; k < p.length; k++) {
            if (!words.get(i + k).equals(p[k])) {
                return 0;
            }
        }
        return p.length;
    }
}
