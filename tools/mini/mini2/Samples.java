import dev.ediff.api.Generation;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.core.EDiff;
import dev.ediff.core.image.Images;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import javax.imageio.ImageIO;

/**
 * Sample sheets made by the SDK from a bundle ([mini-2] check; not part of the build):
 * java -cp CLASSPATH tools/mini/mini2/Samples.java BUNDLE_DIR OUT_DIR [STYLE_REF.png]
 * Each sheet: one row per prompt/setting, 4 seeds (1..4), the base 32x32 output and the 64x64 SR output.
 */
public class Samples {
    static final int SEEDS = 4;

    public static void main(String[] args) throws Exception {
        Path bundle = Path.of(args[0]);
        File out = new File(args[1]);
        out.mkdirs();
        try (EDiff ediff = EDiff.open(bundle)) {
            List<String> prompts = List.of(
                    "a large red circle in the top left corner",
                    "a small blue square at the bottom",
                    "a big yellow star in the center",
                    "a large green triangle to the left of a large purple diamond",
                    "a small white circle above a large orange square");
            List<BufferedImage[]> rows = new ArrayList<>();
            for (String p : prompts) {
                rows.add(row(ediff, p, b -> b));
            }
            sheet(rows, new File(out, "prompts.png"));
            String two = "a large green triangle to the left of a large purple diamond";
            rows = new ArrayList<>();
            rows.add(row(ediff, two, b -> b));
            rows.add(row(ediff, two, b -> b.clip(false)));
            rows.add(row(ediff, two, b -> b.t5(false)));
            sheet(rows, new File(out, "toggles_both_t5only_cliponly.png"));
            String free = "a large red circle";
            rows = new ArrayList<>();
            rows.add(row(ediff, free, b -> b));
            rows.add(row(ediff, free, b -> b.paint("red circle", Mask.rectangle(0.0, 0.0, 0.4, 0.4), 0.5)));
            rows.add(row(ediff, free, b -> b.paint("red circle", Mask.rectangle(0.6, 0.6, 1.0, 1.0), 0.5)));
            sheet(rows, new File(out, "paint_none_topleft_bottomright.png"));
            if (args.length > 2) {
                BufferedImage ref = ImageIO.read(new File(args[2]));
                rows = new ArrayList<>();
                rows.add(row(ediff, "a big yellow star in the center", b -> b));
                rows.add(row(ediff, "a big yellow star in the center", b -> b.style(ref, 3.0)));
                sheet(rows, new File(out, "style_none_ref.png"));
            }
        }
    }

    static BufferedImage[] row(EDiff ediff, String prompt, UnaryOperator<Request.Builder> f) {
        long t = System.nanoTime();
        Generation g = ediff.generate(f.apply(Request.prompt(prompt).seed(1).count(SEEDS).keepAllStages(true)).build());
        List<Sample> base = g.stage("base").samples();
        List<Sample> sr = g.finalStage().samples();
        BufferedImage[] r = new BufferedImage[2 * SEEDS];
        for (int i = 0; i < SEEDS; i++) {
            r[i] = Images.toImage(base.get(i));
            r[SEEDS + i] = Images.toImage(sr.get(i));
        }
        System.out.printf("%s: %.1f s%n", prompt, (System.nanoTime() - t) / 1e9);
        return r;
    }

    static void sheet(List<BufferedImage[]> rows, File file) throws Exception {
        int cell = 66;
        BufferedImage img = new BufferedImage(2 * SEEDS * cell + 4, rows.size() * cell, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        for (int y = 0; y < rows.size(); y++) {
            BufferedImage[] r = rows.get(y);
            for (int x = 0; x < r.length; x++) {
                int ox = x * cell + (x >= SEEDS ? 4 : 0) + 1;
                // base 32x32 shown at 2x (nearest) so it lines up with the 64x64 SR output
                g.drawImage(r[x], ox, y * cell + 1, 64, 64, null);
            }
        }
        g.dispose();
        ImageIO.write(img, "png", file);
    }
}
