package dev.ediff.eval;

import java.util.Locale;

/**
 * The counts behind one row of the quality table: each column is {@code right / stated}, so rows
 * of different prompt mixes stay comparable per column, and a column with nothing stated reads "-".
 */
public final class Tally {

    int images;
    int prompts;
    int promptRight;
    int countRight;
    int objects;
    int shapeRight;
    int colourRight;
    int sizeRight;
    int cells;
    int cellRight;
    int relations;
    int relationRight;
    int styled;
    int styleRight;
    int painted;
    int paintInside;
    double seconds;
    Double frechet;

    /** Adds one judged image's scores. */
    public void add(Scoring.Result r) {
        images++;
        promptRight += r.match() ? 1 : 0;
        countRight += r.countRight() ? 1 : 0;
        objects += r.objects();
        shapeRight += r.shapeRight();
        colourRight += r.colourRight();
        sizeRight += r.sizeRight();
        cells += r.cells();
        cellRight += r.cellRight();
        relations += r.relations();
        relationRight += r.relationRight();
    }

    /** Adds one image with a style reference: whether its judged style equals the reference's. */
    public void addStyle(boolean same) {
        styled++;
        styleRight += same ? 1 : 0;
    }

    /** Adds one image with a paint entry: whether its objects lie inside the painted region. */
    public void addPaint(boolean inside) {
        painted++;
        paintInside += inside ? 1 : 0;
    }

    /** Share of images whose every stated attribute is right. */
    public double promptAccuracy() {
        return images == 0 ? Double.NaN : (double) promptRight / images;
    }

    /** The table's column headers, matching {@link #row}. */
    public static String header() {
        return "| config | images | prompt | count | shape | colour | size | position | relation | style | paint inside"
                + " | FD | s/image |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
    }

    /** One Markdown table row. */
    public String row(String label) {
        return String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", label, images,
                pct(promptRight, images), pct(countRight, images), pct(shapeRight, objects), pct(colourRight, objects),
                pct(sizeRight, objects), pct(cellRight, cells), pct(relationRight, relations), pct(styleRight, styled),
                pct(paintInside, painted), frechet == null ? "-" : String.format(Locale.ROOT, "%.2f", frechet),
                seconds <= 0 || images == 0 ? "-" : String.format(Locale.ROOT, "%.2f", seconds / images));
    }

    private static String pct(int right, int of) {
        return of == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * right / of);
    }
}
