/**
 * The ediff pipeline: {@link dev.ediff.core.EDiff}, the routing tree, samplers, schedules,
 * parameterizations, tokenizers and image helpers. Backends plug in as
 * {@link dev.ediff.core.ModelLoader} services.
 */
module dev.ediff.core {
    requires transitive dev.ediff.api;
    // TokenizerConformance takes the parsed case files (JsonNode)
    requires transitive com.fasterxml.jackson.databind;
    requires com.google.common;
    requires org.slf4j;

    exports dev.ediff.core;
    exports dev.ediff.core.image;
    exports dev.ediff.core.model;
    exports dev.ediff.core.sampling;
    exports dev.ediff.core.schedule;
    exports dev.ediff.core.text;
    // dev.ediff.core.random (per-image noise streams) stays internal; the caches' helpers serve the backend
    exports dev.ediff.core.cache to dev.ediff.onnx;

    uses dev.ediff.core.ModelLoader;
    uses dev.ediff.api.SamplerProvider;
    // Services.load does the lookup for ediff-onnx's bundles too
    uses dev.ediff.api.ExpertProvider;

    provides dev.ediff.api.SamplerProvider with dev.ediff.core.sampling.StandardSamplers;
    provides dev.ediff.api.PngWriter with dev.ediff.core.image.PngFilesWriter;
}
