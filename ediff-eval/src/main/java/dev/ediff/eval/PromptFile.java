package dev.ediff.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.Mask;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A prompt file for {@code ediff eval}: UTF-8, one prompt per line. A line is either
 * <ul>
 *   <li>plain text: {@code PROMPT} or {@code PROMPT<TAB>SEED}, or</li>
 *   <li>a JSON object (the line starts with <code>{</code>):
 *   <pre>{@code {"prompt": "a big red circle", "seed": 7,
 *  "spec": {"objects": [{"shape": "circle", "colour": "red", "size": "large", "cell": null}], "relation": null},
 *  "paint": {"phrase": "big red circle", "box": [0.0, 0.0, 0.4, 0.4], "shape": "rect", "weight": 0.4},
 *  "style": "refs/stripes.png"}}</pre>
 *   where only {@code prompt} is required: {@code seed} defaults to {@value #SEED_BASE} + the line
 *   number; {@code spec} (the format of {@code tools/mini/prompts/heldout.jsonl}, whose lines are
 *   valid prompt lines as they are) defaults to the spec {@link CaptionParser} reads from the
 *   prompt; {@code paint} paints a phrase of the prompt into a box in relative coordinates
 *   [x0, y0, x1, y1] with a {@code rect} (default) or {@code ellipse} shape and a weight (default
 *   {@value #DEFAULT_PAINT_WEIGHT}); {@code style} is a reference image, relative to the prompt
 *   file's folder. Other fields (e.g. {@code seen_in_train}) are ignored.</li>
 * </ul>
 * Blank lines and lines starting with {@code #} are ignored. Every error names the file and line.
 */
public final class PromptFile {

    /** The seed of a line that gives none: this plus the 1-based line number. */
    public static final long SEED_BASE = 1_000_000L;
    /** The paint weight of a paint entry that gives none. */
    public static final double DEFAULT_PAINT_WEIGHT = 0.4;

    /**
     * A painted phrase: the phrase, the box in relative coordinates, the mask shape and the weight.
     *
     * @param phrase  whole words of the prompt
     * @param box     {@code [x0, y0, x1, y1]} in [0, 1]
     * @param ellipse true for the ellipse inscribed in the box, false for the box itself
     * @param weight  the paint weight {@code w'}
     */
    public record Paint(String phrase, double[] box, boolean ellipse, double weight) {
        public Paint {
            box = box.clone();
        }

        /** The SDK mask of this paint entry. */
        public Mask mask() {
            return ellipse ? Mask.ellipse(box[0], box[1], box[2], box[3]) : Mask.rectangle(box[0], box[1], box[2], box[3]);
        }

        /**
         * Which cells of the 3x3 grid (row-major) lie inside the painted region: those the mask
         * covers for at least half of their area.
         */
        public boolean[] cellsInside() {
            int perCell = 16;
            float[] m = mask().rasterize(3 * perCell, 3 * perCell);
            boolean[] inside = new boolean[9];
            for (int c = 0; c < 9; c++) {
                int r0 = (c / 3) * perCell;
                int c0 = (c % 3) * perCell;
                double sum = 0;
                for (int y = r0; y < r0 + perCell; y++) {
                    for (int x = c0; x < c0 + perCell; x++) {
                        sum += m[y * 3 * perCell + x];
                    }
                }
                inside[c] = sum / (perCell * perCell) >= 0.5;
            }
            return inside;
        }
    }

    /**
     * One prompt line.
     *
     * @param line   1-based line number in the file
     * @param prompt the prompt text
     * @param seed   the seed of the line's first image
     * @param spec   what the prompt states
     * @param paint  the paint entry, or null
     * @param style  the style reference image (resolved against the file's folder), or null
     */
    public record Entry(int line, String prompt, long seed, PromptSpec spec, Paint paint, Path style) {
    }

    private static final Set<String> FIELDS = Set.of("prompt", "seed", "spec", "paint", "style");
    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptFile() {
    }

    /** Reads and checks a prompt file; style references must exist. */
    public static List<Entry> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new EvalException(EvalException.USAGE, "cannot read the prompt file " + file + ": " + e.getMessage());
        }
        Path dir = file.toAbsolutePath().getParent();
        List<Entry> entries = parse(lines, file.toString(), dir);
        if (entries.isEmpty()) {
            throw new EvalException(EvalException.USAGE, file + " holds no prompt (only blank or # lines)");
        }
        return entries;
    }

    /**
     * Parses prompt lines; {@code where} names the file in errors, {@code dir} resolves style paths
     * (which must then exist).
     */
    public static List<Entry> parse(List<String> lines, String where, Path dir) {
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String raw = lines.get(i);
            String line = raw.strip();
            int n = i + 1;
            if (i == 0 && line.startsWith("\uFEFF")) {
                line = line.substring(1).strip();
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                out.add(line.startsWith("{") ? json(line, n, dir) : plain(line, n));
            } catch (IllegalArgumentException e) {
                throw new EvalException(EvalException.USAGE, where + ":" + n + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static Entry plain(String line, int n) {
        String prompt = line;
        long seed = SEED_BASE + n;
        int tab = line.lastIndexOf('\t');
        if (tab >= 0) {
            prompt = line.substring(0, tab).strip();
            String s = line.substring(tab + 1).strip();
            try {
                seed = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("the seed after the tab must be an integer, got '" + s + "'");
            }
        }
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException("empty prompt");
        }
        return new Entry(n, prompt, seed, CaptionParser.parse(prompt), null, null);
    }

    private static Entry json(String line, int n, Path dir) {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a JSON line must be an object {\"prompt\": ...}");
        }
        JsonNode p = root.get("prompt");
        if (p == null || !p.isTextual() || p.asText().isBlank()) {
            throw new IllegalArgumentException("\"prompt\" must be a non-empty string");
        }
        String prompt = p.asText().strip();
        long seed = SEED_BASE + n;
        JsonNode s = root.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw new IllegalArgumentException("\"seed\" must be an integer, got " + s);
            }
            seed = s.asLong();
        }
        PromptSpec spec = root.hasNonNull("spec") ? spec(root.get("spec")) : CaptionParser.parse(prompt);
        Paint paint = root.hasNonNull("paint") ? paint(root.get("paint"), prompt) : null;
        Path style = null;
        JsonNode st = root.get("style");
        if (st != null && !st.isNull()) {
            if (!st.isTextual() || st.asText().isBlank()) {
                throw new IllegalArgumentException("\"style\" must be a path to an image, relative to the prompt file");
            }
            style = dir == null ? Path.of(st.asText()) : dir.resolve(st.asText()).normalize();
            if (dir != null && !Files.isRegularFile(style)) {
                throw new IllegalArgumentException("style reference " + style + " does not exist");
            }
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f) && !f.equals("seen_in_train")) {
                // Unknown fields are tolerated (other tools may annotate lines) but typos of known ones are not.
                for (String known : FIELDS) {
                    if (f.toLowerCase(Locale.ROOT).equals(known)) {
                        throw new IllegalArgumentException("field \"" + f + "\": did you mean \"" + known + "\"?");
                    }
                }
            }
        }
        return new Entry(n, prompt, seed, spec, paint, style);
    }

    /** A spec in the format of {@code heldout.jsonl}. */
    static PromptSpec spec(JsonNode n) {
        if (!n.isObject() || !n.path("objects").isArray()) {
            throw new IllegalArgumentException("\"spec\" must be {\"objects\": [...], \"relation\": ...}");
        }
        List<PromptSpec.ObjectSpec> objects = new ArrayList<>();
        for (JsonNode o : n.get("objects")) {
            if (!o.isObject()) {
                throw new IllegalArgumentException("spec objects must be {\"shape\", \"colour\", \"size\", \"cell\"}");
            }
            objects.add(new PromptSpec.ObjectSpec(text(o, "shape"), text(o, "colour"), text(o, "size"),
                    o.hasNonNull("cell") ? text(o, "cell") : null));
        }
        String relation = n.hasNonNull("relation") ? text(n, "relation") : null;
        return new PromptSpec(objects, relation);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("spec field \"" + field + "\" must be a string, got " + v);
        }
        return v.asText();
    }

    private static Paint paint(JsonNode n, String prompt) {
        if (!n.isObject()) {
            throw new IllegalArgumentException("\"paint\" must be {\"phrase\", \"box\": [x0,y0,x1,y1], \"shape\", \"weight\"}");
        }
        JsonNode ph = n.get("phrase");
        if (ph == null || !ph.isTextual() || ph.asText().isBlank()) {
            throw new IllegalArgumentException("paint \"phrase\" must be a non-empty string");
        }
        String phrase = ph.asText().strip();
        // Whole words, as the SDK requires; checked here so the error names the line.
        Pattern words = Pattern.compile("(?<![\\p{L}\\p{N}])" + Pattern.quote(phrase.toLowerCase(Locale.ROOT))
                + "(?![\\p{L}\\p{N}])");
        if (!words.matcher(prompt.toLowerCase(Locale.ROOT)).find()) {
            throw new IllegalArgumentException("paint phrase '" + phrase + "' is not whole words of the prompt '" + prompt + "'");
        }
        JsonNode b = n.get("box");
        if (b == null || !b.isArray() || b.size() != 4) {
            throw new IllegalArgumentException("paint \"box\" must be [x0, y0, x1, y1] in [0, 1]");
        }
        double[] box = new double[4];
        for (int i = 0; i < 4; i++) {
            if (!b.get(i).isNumber()) {
                throw new IllegalArgumentException("paint \"box\" must be 4 numbers, got " + b);
            }
            box[i] = b.get(i).asDouble();
        }
        String shape = n.hasNonNull("shape") ? n.get("shape").asText() : "rect";
        if (!shape.equals("rect") && !shape.equals("ellipse")) {
            throw new IllegalArgumentException("paint \"shape\" must be \"rect\" or \"ellipse\", got '" + shape + "'");
        }
        double weight = DEFAULT_PAINT_WEIGHT;
        if (n.hasNonNull("weight")) {
            if (!n.get("weight").isNumber() || !Double.isFinite(n.get("weight").asDouble()) || n.get("weight").asDouble() < 0) {
                throw new IllegalArgumentException("paint \"weight\" must be a number >= 0, got " + n.get("weight"));
            }
            weight = n.get("weight").asDouble();
        }
        Paint p = new Paint(phrase, box, shape.equals("ellipse"), weight);
        p.mask(); // checks the box (inside [0, 1], not empty) now, with the line number
        return p;
    }
}
