package dev.ediff.onnx.bundle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The manifest's numbers have the same ranges as the API's inputs (steps 1..1000, guidance [0, 100],
 * augmentation sigma [0, 100]) and bounded noise levels; a value outside is one line naming the field,
 * the value and the range.
 */
class ManifestBoundsTest {

    static ObjectNode stage(ObjectNode m, int k) {
        return (ObjectNode) m.get("stages").get(k);
    }

    static void accepted(Consumer<ObjectNode> change) {
        ObjectNode m = FixtureBundle.defaultManifest();
        change.accept(m);
        assertDoesNotThrow(() -> Manifest.parse(FixtureBundle.bytes(m), "m.json"));
    }

    static void refused(Consumer<ObjectNode> change, String field, String value, String range) {
        ObjectNode m = FixtureBundle.defaultManifest();
        change.accept(m);
        String msg = assertThrows(BundleException.class, () -> Manifest.parse(FixtureBundle.bytes(m), "m.json")).getMessage();
        assertFalse(msg.contains("\n"), "one line: " + msg);
        for (String part : new String[] {field, value, range}) {
            assertTrue(msg.contains(part), "expected '" + part + "' in: " + msg);
        }
    }

    static ObjectNode defaults(ObjectNode m, int k) {
        return (ObjectNode) stage(m, k).get("defaults");
    }

    @Test
    void steps() {
        accepted(m -> defaults(m, 0).put("steps", 1000));
        refused(m -> defaults(m, 0).put("steps", 1001), "stages[0].defaults.steps", "1001", "1..1000");
        refused(m -> defaults(m, 0).put("steps", 2147483647), "stages[0].defaults.steps", "2147483647", "1..1000");
    }

    @Test
    void guidance() {
        accepted(m -> defaults(m, 0).put("guidance", 100.0));
        refused(m -> defaults(m, 0).put("guidance", 1e308), "stages[0].defaults.guidance", "1.0E308", "[0, 100]");
        refused(m -> defaults(m, 0).put("guidance", -1), "stages[0].defaults.guidance", "-1", "[0, 100]");
    }

    @Test
    void augmentationSigma() {
        accepted(m -> defaults(m, 1).put("augmentation_sigma", 100.0));
        refused(m -> defaults(m, 1).put("augmentation_sigma", 1e6), "stages[1].defaults.augmentation_sigma", "1000000",
                "[0, 100]");
    }

    @Test
    void noiseLevels() {
        accepted(m -> stage(m, 0).put("sigma_max", 1e4));
        refused(m -> stage(m, 0).put("sigma_max", 1e300), "stages[0].sigma_max", "1.0E300", "(0, 10000]");
        refused(m -> stage(m, 0).put("sigma_min", 0), "stages[0].sigma_min", "0", "(0, 10000]");
        refused(m -> ((ObjectNode) stage(m, 0).get("experts").get(0)).put("sigma_lo", -1), "stages[0].experts[0].sigma_lo",
                "-1", "[0, 10000]");
        refused(m -> stage(m, 0).put("rho", 1e9), "stages[0].rho", "1.0E9", "(0, 100]");
        refused(m -> stage(m, 0).put("sigma_data", 0), "stages[0].sigma_data", "0", "(0, 100]");
    }

    @Test
    void theScheduleAsAWhole() {
        // each value in range, together no schedule: 80^(1/0.0005) overflows (found by ManifestFuzzProperties)
        refused(m -> stage(m, 0).put("rho", 0.0005), "stages[0].sigma_min", "rho 5.0E-4", "no usable noise schedule");
        accepted(m -> stage(m, 0).put("rho", 0.5));
    }
}
