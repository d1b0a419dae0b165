package dev.ediff.testkit.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.TensorShape;
import dev.ediff.testkit.analytic.GaussianMixture;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One sampler conformance case (format: the conformance README): a sampler, a Gaussian-mixture
 * denoiser (plain, routed experts, or classifier-free guided), the sigma list, initial state,
 * injected noise and the reference result.
 */
public record SamplerCase(String name, String sampler, JsonNode options, TensorShape shape, String denoiser,
                          GaussianMixture gmm, List<ExpertSpec> experts, CfgSpec cfg, double[] sigmas,
                          double[] xInit, List<double[]> noiseSequence, double[] xFinal,
                          Map<Integer, double[]> denoisedPerStep, int nfe) {

    /** One routed expert: its half-open interval and mixture. */
    public record ExpertSpec(NoiseInterval interval, GaussianMixture gmm) {
    }

    /** Classifier-free guidance between two mixtures. */
    public record CfgSpec(double scale, GaussianMixture cond, GaussianMixture uncond) {
    }

    /** Stands for +infinity as an interval's upper bound. */
    static final double INFINITY_MARK = 1e30;

    /**
     * Reads a case file.
     *
     * @param file   the case file
     * @param mapper the JSON reader
     * @return the case
     * @throws IOException when the file cannot be read
     */
    public static SamplerCase read(Path file, ObjectMapper mapper) throws IOException {
        JsonNode n = mapper.readTree(file.toFile());
        int version = n.path("format_version").asInt(-1);
        if (version != 1) {
            throw new IOException(file + ": format_version must be 1, got " + n.path("format_version"));
        }
        JsonNode s = required(n, "shape", file);
        TensorShape shape = new TensorShape(s.get(0).asInt(), s.get(1).asInt(), s.get(2).asInt(), s.get(3).asInt());
        String denoiser = required(n, "denoiser", file).asText();
        GaussianMixture gmm = null;
        List<ExpertSpec> experts = List.of();
        CfgSpec cfg = null;
        switch (denoiser) {
            case "gmm" -> gmm = gmm(required(n, "gmm", file));
            case "experts" -> {
                experts = new ArrayList<>();
                for (JsonNode e : required(n, "experts", file)) {
                    double hi = e.get("sigma_hi").asDouble();
                    experts.add(new ExpertSpec(new NoiseInterval(e.get("sigma_lo").asDouble(),
                            hi >= INFINITY_MARK ? Double.POSITIVE_INFINITY : hi), gmm(e.get("gmm"))));
                }
            }
            case "cfg" -> {
                JsonNode c = required(n, "cfg", file);
                cfg = new CfgSpec(c.get("scale").asDouble(), gmm(c.get("cond_gmm")), gmm(c.get("uncond_gmm")));
            }
            default -> throw new IOException(file + ": unknown denoiser '" + denoiser + "' (gmm, experts, cfg)");
        }
        List<double[]> noise = new ArrayList<>();
        for (JsonNode z : n.path("noise_sequence")) {
            noise.add(doubles(z));
        }
        Map<Integer, double[]> denoised = new TreeMap<>();
        for (JsonNode e : n.path("denoised_per_step")) {
            denoised.put(e.get("step").asInt(), doubles(e.get("denoised")));
        }
        return new SamplerCase(required(n, "name", file).asText(), required(n, "sampler", file).asText(),
                n.path("options"), shape, denoiser, gmm, experts, cfg, doubles(required(n, "sigmas", file)),
                doubles(required(n, "x_init", file)), noise, doubles(required(n, "x_final", file)), denoised,
                required(n, "nfe", file).asInt());
    }

    private static JsonNode required(JsonNode n, String field, Path file) throws IOException {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IOException(file + ": missing field '" + field + "'");
        }
        return v;
    }

    static GaussianMixture gmm(JsonNode g) {
        JsonNode means = g.get("means");
        double[][] mu = new double[means.size()][];
        for (int i = 0; i < mu.length; i++) {
            mu[i] = doubles(means.get(i));
        }
        return new GaussianMixture(doubles(g.get("weights")), mu, doubles(g.get("stds")));
    }

    static double[] doubles(JsonNode a) {
        double[] d = new double[a.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = a.get(i).asDouble();
        }
        return d;
    }
}
