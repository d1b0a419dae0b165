package dev.ediff.eval;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalConfigTest {

    @Test
    void parsesEveryKey() {
        EvalConfig c = EvalConfig.parse("heun10=sampler=heun,steps=10,guidance=3.5,t5=false,clip=true,until=base,"
                + "paint=false,style=false,style_strength=2.5,model=/tmp/b,layout=false");
        assertEquals("heun10", c.label());
        assertEquals("heun", c.sampler());
        assertEquals(10, c.steps());
        assertEquals(3.5, c.guidance());
        assertFalse(c.t5());
        assertTrue(c.clip());
        assertEquals("base", c.until());
        assertFalse(c.paint());
        assertFalse(c.style());
        assertEquals(2.5, c.styleStrength());
        assertEquals(Path.of("/tmp/b"), c.model());
        assertFalse(c.layout());
        assertTrue(EvalConfig.defaults().layout(), "layout on by default");
        assertEquals(2, EvalConfig.defaults().styleStrength(), "style strength 2 by default (session 7)");
        assertTrue(EvalConfig.parse("x=layout=true").layout());
        EvalConfig plain = EvalConfig.parse("just-a-label");
        assertEquals(EvalConfig.defaults().withLabel("just-a-label"), plain);
        assertTrue(EvalConfig.parse("up=upsample=bicubic").bicubic());
        assertNull(EvalConfig.parse("x=").sampler());
        assertNull(plain.paintWeight());
        assertFalse(plain.later().any());
    }

    @Test
    void parsesThePaintWeightAndTheLaterStagesKeys() {
        EvalConfig c = EvalConfig.parse("sr=paint_weight=1.25,sr_sampler=euler,sr_steps=7,sr_guidance=2.5,"
                + "sr_augmentation_sigma=0.3");
        assertEquals(1.25, c.paintWeight());
        assertEquals(new EvalConfig.LaterStages("euler", 7, 2.5, 0.3), c.later());
        assertTrue(c.later().any());
        assertEquals(c, c.withLabel("other").withLabel("sr"), "a relabelled copy keeps every setting");
        assertEquals(new EvalConfig.LaterStages(null, 4, null, null), EvalConfig.parse("s=sr_steps=4").later());
        for (String bad : List.of("a=paint_weight=-0.1", "a=paint_weight=11", "a=sr_steps=0", "a=sr_sampler=nope,sr_steps=3",
                "a=sr_sampler=euler", "a=sr_guidance=101", "a=sr_augmentation_sigma=-1", "a=sr_augmentation_sigma=x",
                "a=upsample=bicubic,sr_steps=3")) {
            EvalException e = assertThrows(EvalException.class, () -> EvalConfig.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--config '" + bad + "'"), e.getMessage());
        }
        assertTrue(assertThrows(EvalException.class, () -> EvalConfig.parse("a=sr_sampler=euler")).getMessage()
                .contains("sr_steps"));
    }

    @Test
    void shapesTheFirstStagesGuidanceWithRescaleAndInterval() {
        EvalConfig c = EvalConfig.parse("g=guidance=5,guidance_rescale=0.7,guidance_lo=0.5,guidance_hi=10");
        assertEquals(new dev.ediff.api.Guidance(5, 0.7, dev.ediff.api.NoiseInterval.of(0.5, 10)), c.guidanceFull());
        assertEquals(new dev.ediff.api.Guidance(4, 0, dev.ediff.api.NoiseInterval.atLeast(1)),
                EvalConfig.parse("g=guidance=4,guidance_lo=1").guidanceFull());
        assertEquals(new dev.ediff.api.Guidance(4, 0, dev.ediff.api.NoiseInterval.below(2)),
                EvalConfig.parse("g=guidance=4,guidance_hi=2").guidanceFull());
        assertEquals(dev.ediff.api.NoiseInterval.all(),
                EvalConfig.parse("g=guidance=4,guidance_hi=inf").guidanceFull().interval());
        assertNull(EvalConfig.parse("g=guidance=4").guidanceFull(), "a plain scale stays a plain scale");
        for (String bad : List.of("a=guidance_lo=1", "a=guidance=3,guidance_rescale=1.5", "a=guidance=3,guidance_lo=2,guidance_hi=1",
                "a=guidance=3,guidance_lo=-1", "a=guidance=3,guidance_hi=0")) {
            EvalException e = assertThrows(EvalException.class, () -> EvalConfig.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--config '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void refusesBadValues() {
        for (String bad : List.of("=steps=3", "a=steps=0", "a=steps=x", "a=sampler=nope", "a=t5=yes", "a=layout=no", "a=colour=red",
                "a=steps=3,steps=4", "a=upsample=lanczos", "a=upsample=bicubic,until=base", "a=guidance=-1", "a=steps",
                "a=steps=1001", "a=steps=2147483647", "a=guidance=1e308", "a=guidance=NaN", "a=style_strength=11")) {
            EvalException e = assertThrows(EvalException.class, () -> EvalConfig.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--config '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void optionsCheckTheirRanges() {
        Evaluation.Options o = Evaluation.Options.builder(Path.of("p.txt")).build();
        assertEquals(List.of(EvalConfig.defaults()), o.configs());
        assertEquals(1, o.jobs());
        assertEquals(0, o.sessionConfig().intraOpThreads(), "one job: the default threads, one per physical core");
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.max(1, cores / 4), Evaluation.Options.builder(Path.of("p.txt")).jobs(4).build()
                .sessionConfig().intraOpThreads());
        for (Evaluation.Builder bad : List.of(Evaluation.Options.builder(Path.of("p.txt")).jobs(0),
                Evaluation.Options.builder(Path.of("p.txt")).limit(0),
                Evaluation.Options.builder(Path.of("p.txt")).perPrompt(0),
                Evaluation.Options.builder(null),
                Evaluation.Options.builder(Path.of("p.txt")).config(EvalConfig.parse("a"))
                        .config(EvalConfig.parse("a=steps=3")))) {
            EvalException e = assertThrows(EvalException.class, bad::build);
            assertEquals(EvalException.USAGE, e.exitCode());
        }
    }
}
