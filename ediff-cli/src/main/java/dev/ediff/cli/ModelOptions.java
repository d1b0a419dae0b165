package dev.ediff.cli;

import dev.ediff.onnx.NativeLibrary;
import ai.onnxruntime.OrtProvider;
import dev.ediff.api.Device;
import dev.ediff.api.EDiffException;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.MemoryMode;
import dev.ediff.core.EDiff;
import dev.ediff.onnx.ExecutionProvider;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.bundle.Manifest;
import dev.ediff.onnx.bundle.ModelBundle;
import dev.ediff.onnx.diffusers.DiffusersPipeline;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The options of every command that opens a model: which bundle, on which device, with how many
 * threads. They map onto the ONNX backend's {@link SessionConfig}.
 */
final class ModelOptions {

    @Option(names = "--model", paramLabel = "DIR",
            description = "a model bundle folder, or a diffusers ONNX folder with model_index.json (default: the bundled model)")
    Path dir;

    @Option(names = "--refiner", paramLabel = "DIR",
            description = "an SDXL refiner folder to continue an SDXL base's --model at low noise, as one pipeline")
    Path refiner;

    @Option(names = "--device", paramLabel = "cpu|cuda[:N]", converter = DeviceConverter.class,
            description = "where ONNX Runtime runs the models (default cpu; cuda = cuda:0; needs a CUDA build)")
    ExecutionProvider device = ExecutionProvider.cpu();

    @Option(names = "--threads", paramLabel = "N",
            description = "ONNX Runtime threads per operator, 1.." + Limits.MAX_THREADS + " (default: one per physical core)")
    Integer threads;

    @Option(names = "--allow-cpu-fallback", description = "if CUDA cannot be used, warn and run on the CPU instead of failing")
    boolean allowCpuFallback;

    @Option(names = "--memory", paramLabel = "resident|lazy", converter = MemoryConverter.class,
            description = "resident (default): every network stays loaded; lazy: each is loaded when a generation needs it"
                    + " and released after (less memory, slower generations)")
    MemoryMode memory = MemoryMode.RESIDENT;

    @Option(names = "--clip-skip", paramLabel = "N",
            description = "skip the last N CLIP layers for the prompt (diffusers' clip_skip; SDXL and SD3 folders), 0..8")
    int clipSkip;

    /**
     * The session configuration these options ask for. A CUDA device that this build's ONNX Runtime
     * does not offer is a one-line failure, or a one-line warning and the CPU with
     * {@code --allow-cpu-fallback}.
     *
     * @param defaultThreads intra-op threads when {@code --threads} is not given (0 = one per physical core)
     */
    SessionConfig sessions(PrintStream err, int defaultThreads) {
        int intra = threads == null ? defaultThreads : Limits.check("--threads", threads, 1, Limits.MAX_THREADS);
        ExecutionProvider provider = device;
        if (provider instanceof ExecutionProvider.Cuda && !NativeLibrary.availableProviders().contains(OrtProvider.CUDA)) {
            String why = "--device " + provider.describe().toLowerCase(Locale.ROOT) + ": this build's ONNX Runtime has no"
                    + " CUDA provider (it offers " + NativeLibrary.availableProviders() + "); build with"
                    + " 'mvn -Pcuda package' (onnxruntime_gpu, with CUDA 12 and cuDNN 9 installed)";
            if (!allowCpuFallback) {
                throw new CliException(CliException.FAILED, why + ", or pass --allow-cpu-fallback to run on the CPU");
            }
            err.println("ediff: warning: " + why + "; running on the CPU (--allow-cpu-fallback)");
            provider = ExecutionProvider.cpu();
        }
        // With the fallback allowed, a CUDA session that fails to open falls back by itself (eval opens this way).
        return SessionConfig.builder().provider(provider).allowCpuFallback(allowCpuFallback).intraOpThreads(intra).build();
    }

    /**
     * Opens the bundle on the asked device. When CUDA is offered but fails to open (no driver, no
     * cuDNN), {@code --allow-cpu-fallback} reopens on the CPU after one warning line.
     */
    EDiff open(PrintStream err) {
        SessionConfig asked = sessions(err, 0);
        // CUDA first without the backend's own fallback, so that one warning line says what happened.
        SessionConfig config = asked.toBuilder().allowCpuFallback(false).build();
        try {
            return open(config);
        } catch (EDiffException e) {
            if (!(config.provider() instanceof ExecutionProvider.Cuda)) {
                throw e;
            }
            if (!allowCpuFallback) {
                throw new CliException(CliException.FAILED, Main.oneLine(e.getMessage())
                        + " (on the command line: --allow-cpu-fallback)");
            }
            // Reopening on the CPU tells a CUDA failure from a broken bundle: a broken bundle fails again.
            EDiff cpu = open(config.toBuilder().provider(ExecutionProvider.cpu()).build());
            err.println("ediff: warning: " + config.provider().describe() + " could not be used ("
                    + Main.oneLine(e.getMessage()) + "); running on the CPU (--allow-cpu-fallback)");
            return cpu;
        }
    }

    private EDiff open(SessionConfig config) {
        if (refiner != null && !isDiffusers()) {
            throw new CliException(CliException.USAGE, "--refiner needs --model to be a diffusers folder (an SDXL base"
                    + " with model_index.json); got " + (dir == null ? "the bundled model" : dir));
        }
        if (isDiffusers()) {
            // the diffusers graphs run on the CPU; a CUDA device with the fallback allowed runs there too
            LoadOptions options = LoadOptions.builder().intraOpThreads(config.intraOpThreads())
                    .device(config.provider() instanceof ExecutionProvider.Cuda c ? Device.cuda(c.deviceId()) : Device.cpu())
                    .allowCpuFallback(allowCpuFallback).memory(memory)
                    .clipSkip(Limits.check("--clip-skip", clipSkip, 0, MAX_CLIP_SKIP)).build();
            return DiffusersPipeline.open(dir, refiner, options);
        }
        if (clipSkip != 0) {
            throw new CliException(CliException.USAGE, "--clip-skip applies to diffusers SDXL and SD3 folders (--model with"
                    + " model_index.json); " + (dir == null ? "the bundled model" : dir) + " is a model bundle");
        }
        if (dir != null) {
            return ModelBundle.open(dir, config, memory);
        }
        if (ModelBundle.defaultManifest().isEmpty()) {
            throw new CliException(CliException.FAILED, "no default model on the classpath; give --model DIR");
        }
        return ModelBundle.openClasspath(ModelBundle.DEFAULT_CLASSPATH_ROOT, config, memory);
    }

    /** Whether {@code --model} is a diffusers folder (it has a {@code model_index.json}). */
    boolean isDiffusers() {
        return dir != null && Files.isRegularFile(dir.resolve("model_index.json"));
    }

    /** The bundle's manifest, read without opening a model. */
    Manifest manifest() {
        if (dir != null) {
            return ModelBundle.manifest(dir);
        }
        return ModelBundle.defaultManifest().orElseThrow(() -> new CliException(CliException.FAILED,
                "no default model on the classpath; give --model DIR"));
    }

    /** Where the bundle is, for messages. */
    String where() {
        return dir != null ? dir.toString() : "classpath:/" + ModelBundle.DEFAULT_CLASSPATH_ROOT;
    }

    /** The deepest --clip-skip: CLIP-L has 12 layers, OpenCLIP-bigG 32; 8 leaves the shallowest a third. */
    static final int MAX_CLIP_SKIP = 8;

    /** {@code resident} or {@code lazy}, in any case. */
    static final class MemoryConverter implements ITypeConverter<MemoryMode> {
        @Override
        public MemoryMode convert(String value) {
            for (MemoryMode m : MemoryMode.values()) {
                if (m.name().equalsIgnoreCase(value)) {
                    return m;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("expected resident or lazy, got '" + value + "'");
        }
    }

    /** {@code cpu}, {@code cuda} (device 0) or {@code cuda:N}. */
    static final class DeviceConverter implements ITypeConverter<ExecutionProvider> {
        @Override
        public ExecutionProvider convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            if (v.equals("cpu")) {
                return ExecutionProvider.cpu();
            }
            if (v.equals("cuda")) {
                return ExecutionProvider.cuda(0);
            }
            if (v.matches("cuda:\\d{1,4}")) {
                return ExecutionProvider.cuda(Integer.parseInt(v.substring(5)));
            }
            throw new TypeConversionException("expected cpu, cuda or cuda:N (N = the CUDA device number), got '"
                    + value + "'");
        }
    }
}
