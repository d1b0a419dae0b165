package dev.ediff.onnx.bundle;

import dev.ediff.api.Expert;
import dev.ediff.api.ExpertProvider;
import dev.ediff.core.Services;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The {@link ExpertProvider}s on the classpath, as {@code Samplers} finds sampler providers. */
final class ExpertProviders {

    private ExpertProviders() {
    }

    /** {@return every expert name the providers know, sorted} */
    static Set<String> names() {
        Set<String> all = new TreeSet<>();
        providers().forEach(p -> all.addAll(p.names()));
        return all;
    }

    /** {@return whether a provider makes {@code name} (case-insensitive)} */
    static boolean known(String name) {
        String key = name.trim().toLowerCase(Locale.ROOT);
        return providers().stream().anyMatch(p -> p.names().contains(key));
    }

    /**
     * A new expert from the first provider that names it.
     *
     * @throws IllegalArgumentException for an unknown name (listing the known ones), or from the provider
     */
    static Expert create(String name, Map<String, String> options) {
        String key = name.trim().toLowerCase(Locale.ROOT);
        for (ExpertProvider p : providers()) {
            if (p.names().contains(key)) {
                Expert e = p.create(key, options);
                if (e == null) {
                    throw new IllegalArgumentException("expert provider " + p.getClass().getName() + " returned null for '"
                            + key + "'");
                }
                return e;
            }
        }
        throw new IllegalArgumentException("unknown expert provider '" + name + "'; known: " + names());
    }

    private static List<ExpertProvider> providers() {
        return Services.load(ExpertProvider.class);
    }
}
