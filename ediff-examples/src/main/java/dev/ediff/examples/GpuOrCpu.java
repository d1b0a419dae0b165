package dev.ediff.examples;

import dev.ediff.api.Device;
import dev.ediff.api.Generation;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;

import java.nio.file.Path;
import java.util.List;

/**
 * Runs on the first CUDA device when there is one, else on the CPU with a logged warning: one set of
 * load options, no code path per machine. CUDA needs the {@code onnxruntime_gpu} artifact (README,
 * "GPU"); with the CPU artifact the warning says so and the image is the CPU's.
 */
public final class GpuOrCpu {

    private GpuOrCpu() {
    }

    /** The load options of this example: CUDA device 0, the CPU where CUDA cannot be used. */
    static LoadOptions cudaElseCpu() {
        return LoadOptions.builder().device(Device.cuda(0)).allowCpuFallback(true).build();
    }

    /**
     * Generates one image with the default model and writes it into {@code out}.
     *
     * @param out the folder for the PNG
     * @return the files written
     */
    static List<Path> run(Path out) {
        try (EDiff ediff = EDiff.openDefault(cudaElseCpu())) {
            Generation g = ediff.generate(Request.prompt("a small red circle above a large blue square").seed(42).build());
            return g.writePngs(out);
        }
    }

    public static void main(String[] args) {
        run(Path.of(args.length > 0 ? args[0] : ".")).forEach(System.out::println);
    }
}
