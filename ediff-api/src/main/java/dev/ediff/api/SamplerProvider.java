package dev.ediff.api;

import java.util.Map;
import java.util.Set;

/**
 * Makes samplers by name: the extension point through which a sampler can be named in a model
 * manifest, on the command line and in generation parameters. Found with
 * {@link java.util.ServiceLoader}: list the implementation in
 * {@code META-INF/services/dev.ediff.api.SamplerProvider}; it needs a public no-argument constructor.
 *
 * <pre>{@code
 * public final class MySamplers implements SamplerProvider {
 *     public Set<String> names() { return Set.of("my_euler"); }
 *     public Sampler create(String name, Map<String, String> options) { return new MyEuler(options); }
 * }
 * }</pre>
 */
public interface SamplerProvider {

    /**
     * The sampler names this provider makes (lower case; {@link Sampler#name()} of what it creates).
     *
     * @return the names
     */
    Set<String> names();

    /**
     * A sampler called {@code name} with {@code options} (those not given keep their defaults).
     *
     * @param name    one of {@link #names()}
     * @param options option values as text, as {@link Sampler#options()} writes them
     * @return the sampler
     * @throws IllegalArgumentException for an unknown option or a bad value, naming it
     */
    Sampler create(String name, Map<String, String> options);
}
