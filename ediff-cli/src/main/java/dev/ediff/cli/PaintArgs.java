package dev.ediff.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.core.image.Images;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Paint-with-words on the command line.
 * <ul>
 *   <li>{@code --paint "PHRASE=MASK:WEIGHT"} (weight in [0, {@link Limits#MAX_PAINT_WEIGHT}]), where MASK is an
 *       image file (white = paint),
 *       {@code rect(x0,y0,x1,y1)} or {@code ellipse(x0,y0,x1,y1)} in relative coordinates; repeatable.</li>
 *   <li>{@code --paint-map MAP.png --legend LEGEND.json}: one colour per phrase, the legend mapping
 *       {@code "#rrggbb"} to {@code {"phrase": ..., "weight": ...}}.</li>
 * </ul>
 */
final class PaintArgs {

    private PaintArgs() {
    }

    static void apply(List<String> paints, Path map, Path legend, Request.Builder r) {
        for (String p : paints) {
            int eq = p.indexOf('=');
            int colon = p.lastIndexOf(':');
            if (eq <= 0 || colon < eq) {
                throw new CliException(CliException.USAGE, "--paint \"" + p + "\": expected PHRASE=MASK:WEIGHT, e.g."
                        + " \"red circle=rect(0,0,0.5,1):0.4\" or \"red circle=mask.png:0.4\"");
            }
            String phrase = p.substring(0, eq).trim();
            String mask = p.substring(eq + 1, colon).trim();
            double weight = weight(p, p.substring(colon + 1).trim());
            r.paint(phrase, mask(p, mask), weight);
        }
        if (map != null || legend != null) {
            if (map == null || legend == null) {
                throw new CliException(CliException.USAGE, "--paint-map and --legend go together");
            }
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(legend.toFile());
            } catch (JsonProcessingException e) {
                JsonLocation at = e.getLocation();
                throw new CliException(CliException.USAGE, "--legend " + legend + ": not valid JSON"
                        + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ": "
                        + Main.oneLine(e.getOriginalMessage()));
            } catch (IOException e) {
                throw new CliException(CliException.USAGE, "--legend " + legend + ": cannot read: " + e.getMessage());
            }
            if (root == null || !root.isObject() || root.isEmpty()) {
                throw new CliException(CliException.USAGE, "--legend " + legend
                        + ": expected {\"#rrggbb\": {\"phrase\": \"...\", \"weight\": 0.4}, ...}");
            }
            // every entry is checked before the map image is read
            Map<Integer, JsonNode> entries = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : root.properties()) {
                String colour = e.getKey();
                if (!colour.matches("#[0-9a-fA-F]{6}")) {
                    throw new CliException(CliException.USAGE, "--legend " + legend + ": key '" + colour
                            + "' is not a colour like #ff0000");
                }
                JsonNode v = e.getValue();
                if (!v.path("phrase").isTextual() || !v.path("weight").isNumber()) {
                    throw new CliException(CliException.USAGE, "--legend " + legend + ": entry '" + colour
                            + "' needs {\"phrase\": text, \"weight\": number}");
                }
                Limits.check("--legend " + legend + ": entry '" + colour + "' weight", v.get("weight").asDouble(), 0,
                        Limits.MAX_PAINT_WEIGHT);
                entries.put(Integer.parseInt(colour.substring(1), 16), v);
            }
            BufferedImage image = Images.read(map, 1);
            entries.forEach((rgb, v) -> r.paint(v.get("phrase").asText(), Mask.colorKey(image, rgb),
                    v.get("weight").asDouble()));
        }
    }

    private static double weight(String arg, String text) {
        try {
            return Limits.check("--paint \"" + arg + "\": weight", Double.parseDouble(text), 0, Limits.MAX_PAINT_WEIGHT);
        } catch (NumberFormatException e) {
            throw new CliException(CliException.USAGE, "--paint \"" + arg + "\": weight '" + text
                    + "' must be a number in [0, " + (int) Limits.MAX_PAINT_WEIGHT + "]");
        }
    }

    private static Mask mask(String arg, String spec) {
        var m = java.util.regex.Pattern.compile("(rect|ellipse)\\(([^)]*)\\)").matcher(spec);
        if (m.matches()) {
            String[] parts = m.group(2).split(",");
            if (parts.length != 4) {
                throw new CliException(CliException.USAGE, "--paint \"" + arg + "\": " + m.group(1)
                        + " needs 4 numbers x0,y0,x1,y1 in [0,1]");
            }
            double[] v = new double[4];
            try {
                for (int i = 0; i < 4; i++) {
                    v[i] = Double.parseDouble(parts[i].trim());
                }
                return m.group(1).equals("rect") ? Mask.rectangle(v[0], v[1], v[2], v[3])
                        : Mask.ellipse(v[0], v[1], v[2], v[3]);
            } catch (IllegalArgumentException e) {
                throw new CliException(CliException.USAGE, "--paint \"" + arg + "\": " + e.getMessage());
            }
        }
        return Mask.image(Images.read(Path.of(spec), 1));
    }
}
