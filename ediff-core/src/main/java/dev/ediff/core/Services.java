package dev.ediff.core;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Service providers (samplers, experts) found on the classpath or module path. One lookup for every
 * SPI of the SDK, so that they all see the same providers: those visible to the SDK's own class
 * loader, then those only the thread's context class loader sees (an application server's
 * deployment), each provider class once.
 */
public final class Services {

    private Services() {
    }

    /**
     * Every provider of {@code service}, the SDK's class loader's first.
     *
     * @param <T>     the service type
     * @param service the service interface
     * @return a new list of fresh provider instances
     */
    public static <T> List<T> load(Class<T> service) {
        ClassLoader home = Services.class.getClassLoader();
        List<T> list = new ArrayList<>();
        ServiceLoader.load(service, home).forEach(list::add);
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null && context != home) {
            ServiceLoader.load(service, context).forEach(p -> {
                if (list.stream().noneMatch(q -> q.getClass() == p.getClass())) {
                    list.add(p);
                }
            });
        }
        return list;
    }
}
