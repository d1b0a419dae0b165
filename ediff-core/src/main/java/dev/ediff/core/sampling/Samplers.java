package dev.ediff.core.sampling;

import dev.ediff.api.Sampler;
import dev.ediff.api.SamplerProvider;
import dev.ediff.core.Services;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The standard samplers by factory method, and every sampler on the classpath by name: the built-in
 * ones ({@link StandardSamplers}) and those of any other {@link SamplerProvider}.
 */
public final class Samplers {

    /** The names of the built-in samplers (every name {@link #byName} accepts: {@link #names()}). */
    public static final List<String> NAMES = List.of(
            "euler", "euler_ancestral", "heun", "dpm_2", "lms", "dpmpp_2m", "dpmpp_2m_sde");

    private Samplers() {
    }

    /** {@return Euler (first order, deterministic)} */
    public static Sampler euler() {
        return new Euler();
    }

    /** {@return Euler ancestral with {@code eta = 1}, {@code s_noise = 1}} */
    public static Sampler eulerAncestral() {
        return new EulerAncestral(1.0, 1.0);
    }

    /**
     * Euler ancestral.
     *
     * @param eta    the amount of fresh noise per step, {@code >= 0} (0: plain Euler)
     * @param sNoise the scale of that noise, {@code >= 0}
     * @return the sampler
     */
    public static Sampler eulerAncestral(double eta, double sNoise) {
        return new EulerAncestral(eta, sNoise);
    }

    /** {@return EDM's Heun sampler without churn (deterministic)} */
    public static Sampler heun() {
        return new Heun(0.0, 0.0, Double.POSITIVE_INFINITY, 1.0);
    }

    /**
     * EDM's stochastic Heun sampler.
     *
     * @param sChurn the total amount of churn {@code S_churn}, {@code >= 0}
     * @param sTmin  the lowest sigma at which churn applies, {@code S_tmin}
     * @param sTmax  the highest sigma at which churn applies, {@code S_tmax}
     * @param sNoise the scale of the added noise, {@code S_noise}
     * @return the sampler
     */
    public static Sampler heun(double sChurn, double sTmin, double sTmax, double sNoise) {
        return new Heun(sChurn, sTmin, sTmax, sNoise);
    }

    /** {@return DPM-Solver-2} */
    public static Sampler dpm2() {
        return new Dpm2();
    }

    /** {@return linear multistep of order 4} */
    public static Sampler lms() {
        return new LinearMultistep(4);
    }

    /**
     * Linear multistep.
     *
     * @param order the number of past derivatives used, 1 to 4
     * @return the sampler
     */
    public static Sampler lms(int order) {
        return new LinearMultistep(order);
    }

    /** {@return DPM-Solver++(2M)} */
    public static Sampler dpmSolverPP2M() {
        return new DpmSolverPP2M();
    }

    /** {@return DPM-Solver++(2M) SDE, midpoint, {@code eta = 1}, {@code s_noise = 1}} */
    public static Sampler dpmSolverPP2MSde() {
        return new DpmSolverPP2MSde(1.0, 1.0);
    }

    /**
     * DPM-Solver++(2M) SDE, midpoint.
     *
     * @param eta    the amount of fresh noise per step, {@code >= 0}
     * @param sNoise the scale of that noise, {@code >= 0}
     * @return the sampler
     */
    public static Sampler dpmSolverPP2MSde(double eta, double sNoise) {
        return new DpmSolverPP2MSde(eta, sNoise);
    }

    /**
     * The sampler called {@code name} with default options: a built-in (one of {@link #NAMES},
     * case-insensitive) or one made by a {@link SamplerProvider} on the classpath.
     *
     * @param name the sampler name
     * @return the sampler
     * @throws IllegalArgumentException listing the known names
     */
    public static Sampler byName(String name) {
        return create(name, Map.of());
    }

    /**
     * The sampler called {@code name} with {@code options}, from the first {@link SamplerProvider}
     * (found by {@link java.util.ServiceLoader}) that names it; the built-ins are {@link StandardSamplers}.
     *
     * @param name    the sampler name, case-insensitive
     * @param options option values as text (see {@link Sampler#options()})
     * @return the sampler
     * @throws IllegalArgumentException for an unknown name (listing the known ones) or option
     */
    public static Sampler create(String name, Map<String, String> options) {
        String key = name.trim().toLowerCase(Locale.ROOT);
        for (SamplerProvider p : providers()) {
            if (p.names().contains(key)) {
                return p.create(key, options);
            }
        }
        throw new IllegalArgumentException("unknown sampler '" + name + "'; known: " + names()
                + " (add others with a dev.ediff.api.SamplerProvider)");
    }

    /**
     * Every sampler name the providers on the classpath know, sorted.
     *
     * @return the names
     */
    public static List<String> names() {
        Set<String> all = new TreeSet<>();
        providers().forEach(p -> all.addAll(p.names()));
        return List.copyOf(all);
    }

    /**
     * The text form of a sampler with its options, e.g. {@code heun(s_churn=0.5,s_noise=1.0)};
     * {@link #parse} reads it back into an equal sampler.
     *
     * @param sampler the sampler
     * @return its name, with its options (sorted by name) in parentheses when it has any
     */
    public static String spec(Sampler sampler) {
        Map<String, String> o = new TreeMap<>(sampler.options());
        if (o.isEmpty()) {
            return sampler.name();
        }
        StringJoiner j = new StringJoiner(",", sampler.name() + "(", ")");
        o.forEach((k, v) -> j.add(k + "=" + v));
        return j.toString();
    }

    /**
     * Reads {@code name} or {@code name(key=value,...)}, as {@link #spec} writes it.
     *
     * @param spec the text form
     * @return the sampler
     * @throws IllegalArgumentException for a malformed text, an unknown sampler or option
     */
    public static Sampler parse(String spec) {
        String t = spec.trim();
        int open = t.indexOf('(');
        if (open < 0) {
            return byName(t);
        }
        if (!t.endsWith(")")) {
            throw new IllegalArgumentException("sampler '" + spec + "' must be NAME or NAME(key=value,...)");
        }
        Map<String, String> options = new LinkedHashMap<>();
        String body = t.substring(open + 1, t.length() - 1).trim();
        for (String kv : body.isEmpty() ? new String[0] : body.split(",")) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("sampler '" + spec + "': option '" + kv.trim() + "' must be key=value");
            }
            options.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return create(t.substring(0, open), options);
    }

    private static List<SamplerProvider> providers() {
        return Services.load(SamplerProvider.class);
    }
}
