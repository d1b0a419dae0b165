package dev.ediff.onnx.bundle;

import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.RoutingTree;
import dev.ediff.onnx.OnnxExpert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pipelines derived from an opened bundle share its ONNX sessions, which close with the last pipeline. */
class DerivedBundleTest {

    static List<OnnxExpert> onnxExperts(EDiff e) {
        List<OnnxExpert> out = new ArrayList<>();
        for (var stage : e.stages()) {
            for (RoutingTree.Leaf leaf : stage.routingTree().leaves()) {
                if (leaf.expert() instanceof OnnxExpert o) {
                    out.add(o);
                }
            }
        }
        return out;
    }

    @Test
    void sessionsCloseWhenTheLastPipelineUsingThemCloses(@TempDir Path tmp) {
        FixtureBundle fixture = FixtureBundle.create(tmp.resolve("bundle"));
        EDiff bundled = ModelBundle.open(fixture.dir, FixtureBundle.CPU);
        List<OnnxExpert> experts = onnxExperts(bundled);
        assertEquals(5, experts.size());
        OnnxExpert mid = (OnnxExpert) bundled.routingTree().route(FixtureBundle.BASE_SPLIT_LO);
        EDiff derived = bundled.toBuilder()
                .replaceExpert("base", NoiseInterval.below(FixtureBundle.BASE_SPLIT_LO), mid).build();
        bundled.close();
        experts.forEach(x -> assertFalse(x.isClosed(), x.name()));
        Request r = Request.prompt("a red cat").seed(3).steps(3).build();
        Generation g = derived.generate(r);
        g.stage("base").evaluations().forEach(e -> assertEquals(
                e.sigma() < FixtureBundle.BASE_SPLIT_HI ? "mid" : "high", e.expert(), "sigma " + e.sigma()));
        derived.close();
        experts.forEach(x -> assertTrue(x.isClosed(), x.name()));
    }
}
