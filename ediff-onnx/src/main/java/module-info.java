/**
 * The ONNX Runtime backend of ediff: experts and encoders as ONNX graphs on the CPU or CUDA, and
 * model bundles, opened by {@code EDiff.open(Path)} and {@code EDiff.openDefault()} through the
 * {@link dev.ediff.core.ModelLoader} service.
 */
module dev.ediff.onnx {
    requires transitive dev.ediff.core;
    // the same automatic module name for onnxruntime and onnxruntime_gpu; no ONNX Runtime type is in this API
    requires com.microsoft.onnxruntime;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;

    exports dev.ediff.onnx;
    exports dev.ediff.onnx.bundle;
    exports dev.ediff.onnx.diffusers;
    exports dev.ediff.onnx.rewrite;

    provides dev.ediff.core.ModelLoader with dev.ediff.onnx.bundle.OnnxModelLoader;
}
