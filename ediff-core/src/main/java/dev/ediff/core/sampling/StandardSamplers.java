package dev.ediff.core.sampling;

import dev.ediff.api.Sampler;
import dev.ediff.api.SamplerProvider;

import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The built-in samplers as a {@link SamplerProvider} (registered for {@link java.util.ServiceLoader}),
 * with their options: {@code euler_ancestral(eta, s_noise)}, {@code heun(s_churn, s_tmin, s_tmax,
 * s_noise)}, {@code lms(order)}, {@code dpmpp_2m_sde(eta, s_noise)}. Also accepts the aliases
 * {@code euler_a}, {@code dpm2}, {@code dpm++2m} and {@code dpm++2m_sde}.
 */
public final class StandardSamplers implements SamplerProvider {

    /** For {@link java.util.ServiceLoader}. */
    public StandardSamplers() {
    }

    @Override
    public Set<String> names() {
        return Set.of("euler", "euler_ancestral", "euler_a", "heun", "dpm_2", "dpm2", "lms", "dpmpp_2m", "dpm++2m",
                "dpmpp_2m_sde", "dpm++2m_sde");
    }

    @Override
    public Sampler create(String name, Map<String, String> options) {
        Options o = new Options(name, options);
        Sampler s = switch (name.toLowerCase(Locale.ROOT)) {
            case "euler" -> new Euler();
            case "euler_ancestral", "euler_a" -> new EulerAncestral(o.get("eta", 1.0), o.get("s_noise", 1.0));
            case "heun" -> new Heun(o.get("s_churn", 0.0), o.get("s_tmin", 0.0), o.get("s_tmax", Double.POSITIVE_INFINITY),
                    o.get("s_noise", 1.0));
            case "dpm_2", "dpm2" -> new Dpm2();
            case "lms" -> new LinearMultistep(o.integer("order", 4));
            case "dpmpp_2m", "dpm++2m" -> new DpmSolverPP2M();
            case "dpmpp_2m_sde", "dpm++2m_sde" -> new DpmSolverPP2MSde(o.get("eta", 1.0), o.get("s_noise", 1.0));
            default -> throw new IllegalArgumentException("unknown sampler '" + name + "'; known: " + Samplers.NAMES);
        };
        o.checkAllUsed();
        return s;
    }

    /** Reads numeric options, remembering which were read so that unknown ones are reported. */
    private static final class Options {
        private final String sampler;
        private final Map<String, String> given;
        private final Set<String> read = new HashSet<>();

        Options(String sampler, Map<String, String> given) {
            this.sampler = sampler;
            this.given = given;
        }

        double get(String key, double fallback) {
            read.add(key);
            String v = given.get(key);
            if (v == null) {
                return fallback;
            }
            try {
                return Double.parseDouble(v.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("sampler '" + sampler + "' option " + key + " must be a number, got '"
                        + v + "'", e);
            }
        }

        int integer(String key, int fallback) {
            double d = get(key, fallback);
            if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("sampler '" + sampler + "' option " + key + " must be an integer, got "
                        + given.get(key));
            }
            return (int) d;
        }

        void checkAllUsed() {
            for (String k : given.keySet()) {
                if (!read.contains(k)) {
                    throw new IllegalArgumentException("sampler '" + sampler + "' has no option '" + k + "'"
                            + (read.isEmpty() ? " (it takes none)" : "; its options: " + read.stream().sorted().toList()));
                }
            }
        }
    }
}
