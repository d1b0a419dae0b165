package dev.ediff.onnx.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ediff.api.EDiffException;
import dev.ediff.api.Guidance;
import dev.ediff.api.LoadOptions;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.Sample;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.EDiffBuilder;
import dev.ediff.core.RoutingTree;
import dev.ediff.core.Stage;
import dev.ediff.core.sampling.Samplers;
import dev.ediff.core.schedule.SchedulerConfig;
import dev.ediff.onnx.Residency;
import dev.ediff.onnx.SessionConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Opens a diffusers folder (Stable Diffusion 1.x/2.x, SDXL, SD3 as Hugging Face's ONNX exports lay
 * them out) as an {@link EDiff} pipeline: one latent stage named {@code "base"} whose expert is the
 * UNet or MMDiT under the parameterization of the folder's scheduler, conditioned by the folder's
 * text encoders (role {@code clip}; SD3's T5 has role {@code t5}, so {@code Request.t5(false)} drops
 * it as diffusers does without text_encoder_3), sampled on that scheduler's levels, and decoded to
 * pixels by the VAE at the end. An SDXL base with its refiner is one stage with two experts routed
 * by sigma at diffusers' {@code denoising_end} boundary. {@link EDiff#open(Path)} reaches this
 * through the ONNX model loader for any folder with a {@code model_index.json}.
 *
 * <p>Paint-with-words ({@code Request.paint}): the stage declares the attention bias among its
 * roles; on the first painted request each U-Net is rewritten by
 * {@link dev.ediff.onnx.rewrite.AttentionBiasRewrite} into the cache folder
 * ({@link #defaultRewriteCache()} unless given) and the rewritten copy is opened beside the
 * original, which keeps serving unpainted requests. SD3's transformer is refused (joint attention):
 * a painted request fails with the reason.
 */
public final class DiffusersPipeline {

    /** diffusers' default split of SDXL base and refiner ({@code denoising_end}). */
    public static final double DENOISING_END = 0.8;

    private DiffusersPipeline() {
    }

    /**
     * Opens one diffusers folder.
     *
     * @param folder  a folder with {@code model_index.json}
     * @param options threads; the graphs run on the CPU (a CUDA device needs {@code allowCpuFallback})
     * @return the pipeline, owning every graph it opened
     * @throws EDiffException naming the file and what would be right, for a folder that cannot run
     */
    public static EDiff open(Path folder, LoadOptions options) {
        return open(folder, null, options);
    }

    /**
     * Opens an SDXL base and its refiner as one pipeline: sigmas at or above the boundary of
     * {@link #DENOISING_END} go to the base, those below to the refiner, each with its own text
     * conditioning (the refiner: text encoder 2 and 5 time ids ending in the aesthetic score, its
     * text encoder under role {@code refiner_clip}).
     *
     * @param base    the SDXL base folder
     * @param refiner the SDXL refiner folder, or null for the base alone
     * @param options threads; the graphs run on the CPU
     * @return the pipeline
     * @throws EDiffException for folders that are not an SDXL base and refiner, or cannot run
     */
    public static EDiff open(Path base, Path refiner, LoadOptions options) {
        return open(base, refiner, options, defaultRewriteCache());
    }

    /**
     * As {@link #open(Path, Path, LoadOptions)}, with the folder where denoisers rewritten for
     * paint-with-words are cached. A painted request rewrites the denoiser there once (never the
     * user's file), on the first painted evaluation, not at open.
     *
     * @param base         the diffusers folder (an SDXL base when {@code refiner} is given)
     * @param refiner      the SDXL refiner folder, or null
     * @param options      threads; the graphs run on the CPU
     * @param rewriteCache the cache folder for rewritten graphs (created when first needed)
     * @return the pipeline
     * @throws EDiffException for folders that cannot run
     */
    public static EDiff open(Path base, Path refiner, LoadOptions options, Path rewriteCache) {
        return open(base, refiner, options, rewriteCache, Residency.of(options.memory()));
    }

    /** As {@link #open(Path, Path, LoadOptions, Path)} with the given residency (which the pipeline then owns). */
    static EDiff open(Path base, Path refiner, LoadOptions options, Path rewriteCache, Residency residency) {
        java.util.Objects.requireNonNull(rewriteCache, "rewriteCache");
        DiffusersFolder main = DiffusersFolder.open(base);
        DiffusersFolder second = refiner == null ? null : DiffusersFolder.open(refiner);
        if (second != null && (main.family() != DiffusersFamily.SDXL_BASE || second.family() != DiffusersFamily.SDXL_REFINER)) {
            throw new EDiffException(base + " + " + refiner + ": a refiner pairs an SDXL base with an SDXL refiner; got "
                    + main.family() + " + " + second.family());
        }
        if (second == null && main.family() == DiffusersFamily.SDXL_REFINER) {
            throw new EDiffException(base + ": an SDXL refiner continues an SDXL base's latents; open it as the refiner"
                    + " of a base folder (EDiff.open(base, refiner))");
        }
        GraphSessions threads = new GraphSessions(SessionConfig.of(options));
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            DiffusersTiming timing = new DiffusersTiming(main.scheduler());
            EDiffBuilder b = EDiff.builder().name(main.root().getFileName() + (second == null ? ""
                    : "+" + second.root().getFileName()));
            b.owning(residency); // closed last: the graphs below unregister from it as they close
            double boundary = second == null ? 0 : boundarySigma(timing);
            Part basePart = new Part(main, "base", "base", TextRoles.MAIN, Residency.Placement.denoiser(0, boundary));
            DiffusersExpert baseExpert = part(basePart, timing, threads, opened, b, rewriteCache, residency,
                    options.clipSkip());
            RoutingTree tree;
            DiffusersFolder decoderFolder = main;
            if (second == null) {
                tree = RoutingTree.single(baseExpert);
            } else {
                Part refinerPart = new Part(second, "refiner", "refiner", TextRoles.REFINER, Residency.Placement.denoiser(0, 0));
                DiffusersExpert refinerExpert = part(refinerPart, timing, threads, opened, b, rewriteCache,
                        residency, options.clipSkip());
                tree = RoutingTree.builder().expert(NoiseInterval.atLeast(boundary), baseExpert)
                        .expert(NoiseInterval.below(boundary), refinerExpert).build();
                decoderFolder = second;
            }
            VaeDecoderGraph vae = VaeDecoderGraph.open(decoderFolder, threads, residency);
            opened.add(vae);
            b.owning(vae);
            Stage stage = Stage.builder("base", tree, latentShape(main))
                    .schedule(timing)
                    .defaultSampler(defaultSampler(main.scheduler()), main.family() == DiffusersFamily.SD3 ? 28 : 50)
                    .defaultGuidance(Guidance.of(defaultGuidance(main.family())))
                    .decoder(latents -> {
                        residency.decoding(); // a lazy generation releases its denoisers before the decoder loads
                        return decode(vae, latents);
                    })
                    .restartPerExpert(second != null) // diffusers runs the refiner with a fresh scheduler
                    .roles(roles(second != null))
                    .build();
            return b.stage(stage).build();
        } catch (RuntimeException e) {
            Collections.reverse(opened);
            for (AutoCloseable c : opened) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** Which encoder roles a folder's text conditioning takes in the pipeline. */
    private enum TextRoles { MAIN, REFINER }

    /**
     * The cache folder for rewritten denoisers: system property {@value #REWRITE_CACHE_PROPERTY}, else
     * environment variable {@code EDIFF_REWRITE_CACHE}, else {@code $XDG_CACHE_HOME/ediff/rewrite},
     * else {@code ~/.cache/ediff/rewrite}.
     *
     * @return the folder (not created here)
     */
    public static Path defaultRewriteCache() {
        String p = System.getProperty(REWRITE_CACHE_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv("EDIFF_REWRITE_CACHE");
        }
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("ediff").resolve("rewrite");
    }

    /** The system property that overrides {@link #defaultRewriteCache()}. */
    public static final String REWRITE_CACHE_PROPERTY = "ediff.rewrite.cache";

    /** Every conditioning role the experts read: the text encoders' tensors and the attention bias. */
    private static java.util.Set<String> roles(boolean refiner) {
        java.util.Set<String> r = new java.util.HashSet<>();
        for (String prefix : refiner ? List.of("base", "refiner") : List.of("base")) {
            for (String part : List.of("tokens", "pooled", "t5", "aesthetic")) {
                r.add(prefix + "." + part);
            }
        }
        r.add(dev.ediff.api.Conditioning.ATTENTION_BIAS);
        return r;
    }

    /** One folder's part of the pipeline: its expert's name, conditioning prefix, encoder roles and placement. */
    private record Part(DiffusersFolder folder, String prefix, String expertName, TextRoles roles,
                        Residency.Placement placement) {
    }

    private static DiffusersExpert part(Part part, DiffusersTiming timing, GraphSessions threads, List<AutoCloseable> opened,
                                        EDiffBuilder b, Path rewriteCache, Residency residency, int clipSkip) {
        DiffusersFolder folder = part.folder();
        String prefix = part.prefix();
        TextRoles roles = part.roles();
        DiffusersPromptEncoder prompts = DiffusersPromptEncoder.open(folder, threads, residency);
        opened.add(prompts);
        b.owning(prompts);
        DenoiserGraph net = DenoiserGraph.open(folder, threads, residency, part.placement());
        opened.add(net);
        b.owning(net);
        boolean zeros = folder.forceZerosForEmptyPrompt() && folder.family() == DiffusersFamily.SDXL_BASE;
        try {
            b.textEncoder(DiffusersTextEncoder.clip(prompts, roles == TextRoles.MAIN ? "clip" : "refiner_clip", prefix, zeros,
                    clipSkip));
        } catch (IllegalArgumentException e) {
            throw new EDiffException(e.getMessage(), e);
        }
        if (folder.family() == DiffusersFamily.SD3) {
            b.textEncoder(DiffusersTextEncoder.t5(prompts, prefix));
        }
        // the pipeline's bias concatenates its encoders' tokens, role "clip" before "refiner_clip"
        DiffusersExpert expert = new DiffusersExpert(part.expertName() + " (" + folder.root().getFileName() + ")", net,
                timing.parameterization(), folder.family(), prefix, pixelsPerLatent(folder),
                folder.model(folder.family().denoiser()), rewriteCache, roles == TextRoles.MAIN ? 0 : 77, threads,
                residency, part.placement());
        opened.add(expert);
        b.owning(expert);
        return expert;
    }

    /**
     * The sigma at which the refiner takes over: the base keeps every level whose timestep is at
     * least {@code round((1 - denoising_end) T)}; in sigma that is the training table's sigma at
     * that timestep (levels between table entries interpolate monotonically, so the comparison
     * is the same).
     */
    static double boundarySigma(DiffusersTiming timing) {
        SchedulerConfig c = timing.config();
        long cutoff = Math.round(c.trainTimesteps() - DENOISING_END * c.trainTimesteps());
        return c.tableSigmas()[(int) cutoff];
    }

    private static Sample decode(VaeDecoderGraph vae, Sample latents) {
        TensorShape s = latents.shape();
        long[] out = new long[4];
        float[] px = vae.decode(latents.data(), s.toLongArray(), out);
        double[] data = new double[px.length];
        for (int i = 0; i < px.length; i++) {
            data[i] = 2.0 * px[i] - 1.0; // the SDK's samples are in [-1, 1]
        }
        return new Sample(latents.seed(), new TensorShape(1, (int) out[1], (int) out[2], (int) out[3]), data);
    }

    /**
     * The sampler whose diffusers twin is the folder's scheduler: {@code dpmpp_2m} for
     * {@code DPMSolverMultistepScheduler}, {@code euler} for {@code EulerDiscreteScheduler} and
     * {@code FlowMatchEulerDiscreteScheduler}, and {@code euler} for schedulers without a twin here
     * (PNDM, DDIM, ...: their images differ from diffusers').
     *
     * @param config the folder's scheduler configuration
     * @return the default sampler
     */
    public static Sampler defaultSampler(SchedulerConfig config) {
        return config.className().startsWith("DPMSolverMultistep") ? Samplers.dpmSolverPP2M() : Samplers.euler();
    }

    private static double defaultGuidance(DiffusersFamily family) {
        return switch (family) {
            case SDXL_BASE, SDXL_REFINER -> 5.0;
            case SD3 -> 7.0;
            default -> 7.5;
        };
    }

    private static TensorShape latentShape(DiffusersFolder folder) {
        JsonNode cfg = folder.config(folder.family().denoiser());
        int side = cfg.path("sample_size").asInt(folder.family() == DiffusersFamily.STABLE_DIFFUSION ? 64 : 128);
        return TensorShape.of(folder.vae().latentChannels(), side, side);
    }

    private static int pixelsPerLatent(DiffusersFolder folder) {
        JsonNode blocks = folder.config("vae_decoder").path("block_out_channels");
        return blocks.isArray() && blocks.size() > 0 ? 1 << (blocks.size() - 1) : 8;
    }
}
