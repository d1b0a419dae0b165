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
                + "paint=false,style=false,style_strength=2,model=/tmp/b");
        assertEquals("heun10", c.label());
        assertEquals("heun", c.sampler());
        assertEquals(10, c.steps());
        assertEquals(3.5, c.guidance());
        assertFalse(c.t5());
        assertTrue(c.clip());
        assertEquals("base", c.until());
        assertFalse(c.paint());
        assertFalse(c.style());
        assertEquals(2, c.styleStrength());
        assertEquals(Path.of("/tmp/b"), c.model());
        EvalConfig plain = EvalConfig.parse("just-a-label");
        assertEquals(EvalConfig.defaults().withLabel("just-a-label"), plain);
        assertTrue(EvalConfig.parse("up=upsample=bicubic").bicubic());
        assertNull(EvalConfig.parse("x=").sampler());
    }

    @Test
    void refusesBadValues() {
        for (String bad : List.of("=steps=3", "a=steps=0", "a=steps=x", "a=sampler=nope", "a=t5=yes", "a=colour=red",
                "a=steps=3,steps=4", "a=upsample=lanczos", "a=upsample=bicubic,until=base", "a=guidance=-1", "a=steps")) {
            EvalException e = assertThrows(EvalException.class, () -> EvalConfig.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--config '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void commandOptions() {
        EvalCommand.Options o = EvalCommand.parse(List.of("prompts.jsonl", "--limit", "5", "--count-per-prompt=2",
                "--config", "a=steps=10", "--config", "b=steps=20", "--judge", "j.onnx", "--real", "real"));
        assertEquals(Path.of("prompts.jsonl"), o.prompts());
        assertEquals(5, o.limit());
        assertEquals(2, o.perPrompt());
        assertEquals(List.of("a", "b"), o.configs().stream().map(EvalConfig::label).toList());
        assertEquals(Path.of("j.onnx"), o.judge());
        assertEquals(Path.of("real"), o.real());
        assertEquals(1, o.jobs());
        assertEquals(4, EvalCommand.parse(List.of("p.txt", "--jobs", "4")).jobs());
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of("p.txt", "--jobs", "0")));
        assertEquals(List.of(EvalConfig.defaults()), EvalCommand.parse(List.of("p.txt")).configs());
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of()));
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of("p.txt", "--limit", "0")));
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of("p.txt", "--bogus", "1")));
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of("p.txt", "q.txt")));
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of("p.txt", "--config", "a", "--config", "a=steps=3")));
        assertThrows(EvalException.class, () -> EvalCommand.parse(List.of("p.txt", "--limit")));
    }
}
