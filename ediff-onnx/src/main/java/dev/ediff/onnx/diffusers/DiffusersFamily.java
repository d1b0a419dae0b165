package dev.ediff.onnx.diffusers;

import dev.ediff.api.EDiffException;

import java.util.List;
import java.util.Locale;

/**
 * The model families a diffusers folder can hold, told apart by {@code model_index.json}'s
 * {@code _class_name} (with or without optimum's {@code ORT} / diffusers' {@code Onnx} prefix).
 */
public enum DiffusersFamily {

    /** Stable Diffusion 1.x / 2.x: one CLIP encoder (last hidden state), a UNet, eps or v prediction. */
    STABLE_DIFFUSION(List.of("tokenizer", "text_encoder", "unet", "vae_decoder")),
    /** SDXL base: two CLIP encoders (penultimate states concatenated, pooled), 6 time ids. */
    SDXL_BASE(List.of("tokenizer", "tokenizer_2", "text_encoder", "text_encoder_2", "unet", "vae_decoder")),
    /** SDXL refiner: the second CLIP encoder only, 5 time ids ending in the aesthetic score. */
    SDXL_REFINER(List.of("tokenizer_2", "text_encoder_2", "unet", "vae_decoder")),
    /** SD3: CLIP-L + CLIP-G + optional T5, an MMDiT transformer, rectified flow. */
    SD3(List.of("tokenizer", "tokenizer_2", "text_encoder", "text_encoder_2", "transformer", "vae_decoder"));

    private static final List<String> SUPPORTED = List.of("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
            "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusion3Pipeline",
            "StableDiffusion3Img2ImgPipeline");

    private final List<String> required;

    DiffusersFamily(List<String> required) {
        this.required = required;
    }

    /** @return the component folders this family cannot run without ({@code tokenizer_3} / {@code text_encoder_3} are optional for SD3) */
    public List<String> requiredComponents() {
        return required;
    }

    /** @return the denoiser's folder: {@code transformer} for SD3, {@code unet} for the others */
    public String denoiser() {
        return this == SD3 ? "transformer" : "unet";
    }

    /**
     * The family of pipeline class {@code className}; {@code refinerHint} is true when the index
     * says {@code requires_aesthetics_score} or has no first text encoder.
     *
     * @param className   {@code _class_name} of {@code model_index.json}
     * @param refinerHint whether the index describes an SDXL refiner
     * @param source      the file named in errors
     * @return the family
     * @throws EDiffException naming the class and the supported ones
     */
    public static DiffusersFamily of(String className, boolean refinerHint, String source) {
        String base = className;
        if (base.startsWith("ORT")) {
            base = base.substring(3);
        } else if (base.startsWith("Onnx")) {
            base = base.substring(4);
        }
        return switch (base) {
            case "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline" -> STABLE_DIFFUSION;
            case "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline" -> refinerHint ? SDXL_REFINER : SDXL_BASE;
            case "StableDiffusion3Pipeline", "StableDiffusion3Img2ImgPipeline" -> SD3;
            default -> throw new EDiffException(source + ": pipeline class '" + className + "' is not supported; expected one of "
                    + String.join(", ", SUPPORTED) + " (optionally prefixed ORT or Onnx)");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
