package dev.ediff.core.sampling;

import dev.ediff.api.Sampler;

import java.util.List;
import java.util.Locale;

/** The standard samplers, by factory method or by name. */
public final class Samplers {

    /** The names {@link #byName} accepts. */
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
     * The sampler called {@code name} with default options.
     *
     * @param name one of {@link #NAMES}, case-insensitive
     * @return the sampler
     * @throws IllegalArgumentException listing the known names
     */
    public static Sampler byName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "euler" -> euler();
            case "euler_ancestral", "euler_a" -> eulerAncestral();
            case "heun" -> heun();
            case "dpm_2", "dpm2" -> dpm2();
            case "lms" -> lms();
            case "dpmpp_2m", "dpm++2m" -> dpmSolverPP2M();
            case "dpmpp_2m_sde", "dpm++2m_sde" -> dpmSolverPP2MSde();
            default -> throw new IllegalArgumentException("unknown sampler '" + name + "'; known: " + NAMES);
        };
    }
}
