package dev.ediff.onnx;

import dev.ediff.core.text.Tokenizer;
import dev.ediff.onnx.internal.ModelAccess;
import dev.ediff.onnx.internal.SessionOpener;
import dev.ediff.onnx.internal.ZeroInputCopy;

/**
 * Opens experts and encoders with a model's verified digest for the bundle adapter
 * ({@link ModelAccess}); registers itself when initialised.
 */
final class BundleModels implements ModelAccess.Factory {

    static {
        ModelAccess.register(new BundleModels());
    }

    private BundleModels() {
    }

    @Override
    public OnnxExpert expert(String name, SessionOpener.Loader loader, String sha256, ExpertContract contract,
                             SessionConfig config, ZeroInputCopy zero) {
        return new OnnxExpert(name, contract, loader, config, sha256, zero);
    }

    @Override
    public OnnxTextEncoder textEncoder(String name, SessionOpener.Loader loader, String sha256, Tokenizer tokenizer,
                                       OnnxTextEncoder.Config config, SessionConfig session) {
        return new OnnxTextEncoder(new OnnxModel(name, loader, session, sha256), tokenizer, config);
    }

    @Override
    public OnnxImageEncoder imageEncoder(String name, SessionOpener.Loader loader, String sha256,
                                         OnnxImageEncoder.Config config, SessionConfig session) {
        return new OnnxImageEncoder(new OnnxModel(name, loader, session, sha256), config);
    }
}
