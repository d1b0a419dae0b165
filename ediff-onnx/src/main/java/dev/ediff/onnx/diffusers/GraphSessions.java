package dev.ediff.onnx.diffusers;

import ai.onnxruntime.OrtEnvironment;
import dev.ediff.onnx.ExecutionProvider;
import dev.ediff.onnx.NativeLibrary;
import dev.ediff.onnx.SessionConfig;
import dev.ediff.onnx.internal.SessionOpener;

import java.nio.file.Path;

/**
 * How one pipeline's graphs get their ONNX Runtime sessions: on the provider of its
 * {@link SessionConfig}, as bundles do (CUDA when asked for; when it cannot be used, an error, or
 * with the fallback allowed the CPU). After one graph has fallen back, the rest of the pipeline's
 * graphs open on the CPU directly, so a folder logs one warning line, not one per graph.
 */
final class GraphSessions {

    private volatile SessionConfig config;

    GraphSessions(SessionConfig config) {
        this.config = config;
    }

    /** The CPU with {@code threads} intra-op threads (0: one per physical core). */
    static GraphSessions cpu(int threads) {
        return new GraphSessions(SessionConfig.builder().intraOpThreads(threads).build());
    }

    /** The configuration the next session opens with. */
    SessionConfig config() {
        return config;
    }

    /** Opens {@code model} (external data beside it is found by ONNX Runtime). */
    SessionOpener.Opened open(Path model) {
        OrtEnvironment env = NativeLibrary.environment();
        SessionConfig c = config;
        SessionOpener.Opened opened = SessionOpener.open(env, model.toString(), (e, o) -> e.createSession(model.toString(), o), c);
        if (c.provider() instanceof ExecutionProvider.Cuda && !(opened.provider() instanceof ExecutionProvider.Cuda)) {
            config = c.toBuilder().provider(ExecutionProvider.cpu()).build(); // warned once, by SessionOpener
        }
        return opened;
    }
}
