package dev.ediff.api;

import java.util.Map;
import java.util.Set;

/**
 * Makes experts by name: the extension point through which a model bundle's manifest can route a
 * noise interval to an expert written in Java ({@code "provider": "NAME"} in place of an ONNX
 * {@code "model"}). Found with {@link java.util.ServiceLoader}: list the implementation in
 * {@code META-INF/services/dev.ediff.api.ExpertProvider}; it needs a public no-argument constructor.
 * An expert that is also {@link AutoCloseable} is closed with the pipeline that uses it.
 *
 * <pre>{@code
 * public final class MyExperts implements ExpertProvider {
 *     public Set<String> names() { return Set.of("zero"); }
 *     public Expert create(String name, Map<String, String> options) {
 *         return (x, shape, sigma, cond, out) -> java.util.Arrays.fill(out, 0);
 *     }
 * }
 * }</pre>
 */
public interface ExpertProvider {

    /**
     * The expert names this provider makes (lower case).
     *
     * @return the names
     */
    Set<String> names();

    /**
     * A new expert called {@code name} with {@code options} (those not given keep their defaults).
     *
     * @param name    one of {@link #names()}
     * @param options option values as text, as the manifest gives them
     * @return the expert; the caller owns it
     * @throws IllegalArgumentException for an unknown option or a bad value, naming it
     */
    Expert create(String name, Map<String, String> options);
}
