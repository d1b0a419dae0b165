package dev.ediff.cli;

import ai.onnxruntime.OrtProvider;
import dev.ediff.onnx.ExecutionProvider;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.FixtureBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** --device, --threads and --allow-cpu-fallback map onto the ONNX backend's SessionConfig. */
class DeviceOptionsTest {

    static ModelOptions parse(String... args) {
        BenchCommand bench = new BenchCommand();
        new CommandLine(bench).parseArgs(args);
        return bench.model;
    }

    @Test
    void optionsMapOntoTheSessionConfig() {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        SessionConfig c = parse("--device", "cpu", "--threads", "3").sessions(quiet, 0);
        assertEquals(ExecutionProvider.cpu(), c.provider());
        assertEquals(3, c.intraOpThreads());
        assertFalse(c.allowCpuFallback());
        assertEquals(0, parse().sessions(quiet, 0).intraOpThreads(), "no --threads: the default, one per physical core");
        assertEquals(5, parse().sessions(quiet, 5).intraOpThreads(), "no --threads: the command's default");
        assertEquals(ExecutionProvider.cuda(0), parse("--device", "cuda").device);
        assertEquals(ExecutionProvider.cuda(2), parse("--device", "CUDA:2").device);
        for (String bad : new String[] {"gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:99999"}) {
            assertThrows(CommandLine.ParameterException.class, () -> parse("--device", bad), bad);
        }
    }

    @Test
    void cudaWhereThereIsNoneFailsInOneLineOrFallsBackWithAWarning(@TempDir Path tmp) throws Exception {
        assumeFalse(dev.ediff.onnx.NativeLibrary.availableProviders().contains(OrtProvider.CUDA),
                "this ONNX Runtime offers CUDA: the failure path cannot be seen here");
        Path bundle = tmp.resolve("bundle");
        FixtureBundle.create(bundle);
        Cli failed = Cli.run("generate", "--model", bundle.toString(), "--device", "cuda:0", "--steps", "1", "--out",
                tmp.resolve("a").toString(), "x");
        assertEquals(1, failed.code(), failed.toString());
        assertEquals(1, failed.errLines().size(), failed.toString());
        assertTrue(failed.err().contains("CUDA") && failed.err().contains("--allow-cpu-fallback"), failed.err());
        assertFalse(Files.exists(tmp.resolve("a")), "nothing written");

        Cli fallback = Cli.run("generate", "--model", bundle.toString(), "--device", "cuda", "--allow-cpu-fallback",
                "--threads", "1", "--steps", "1", "--seed", "4", "--out", tmp.resolve("b").toString(), "x");
        assertEquals(0, fallback.code(), fallback.toString());
        assertEquals(1, fallback.err().lines().filter(l -> l.contains("warning")).count(), fallback.err());
        assertTrue(fallback.err().contains("running on the CPU"), fallback.err());
        assertTrue(Files.isRegularFile(tmp.resolve("b/ediff-4.png")));

        Cli info = Cli.run("info", "--model", bundle.toString(), "--check", "--device", "cuda");
        assertEquals(1, info.code(), info.toString());
        assertEquals(1, info.errLines().size(), info.toString());
    }
}
