package dev.ediff.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Parsed {@code --name value} options and positional arguments, with errors that say what was expected. */
final class Args {

    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    /**
     * @param valued options that take a value
     * @param flags  options that take none
     */
    Args(List<String> args, Set<String> valued, Set<String> flags) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (flags.contains(name)) {
                    if (value != null) {
                        throw new CliException(CliException.USAGE, "--" + name + " takes no value");
                    }
                    options.put(name, "true");
                } else if (valued.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= args.size()) {
                            throw new CliException(CliException.USAGE, "--" + name + " needs a value");
                        }
                        value = args.get(++i);
                    }
                    options.put(name, value);
                } else {
                    throw new CliException(CliException.USAGE, "unknown option --" + name + "; run 'ediff help'");
                }
            } else {
                positional.add(a);
            }
        }
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    String get(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    boolean has(String name) {
        return options.containsKey(name);
    }

    int integer(String name, int fallback, int min) {
        if (!options.containsKey(name)) {
            return fallback;
        }
        try {
            int v = Integer.parseInt(options.get(name));
            if (v < min) {
                throw new CliException(CliException.USAGE, "--" + name + " must be >= " + min + ", got " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new CliException(CliException.USAGE, "--" + name + " must be an integer, got '" + options.get(name) + "'");
        }
    }

    long longValue(String name) {
        try {
            return Long.parseLong(options.get(name));
        } catch (NumberFormatException e) {
            throw new CliException(CliException.USAGE, "--" + name + " must be an integer, got '" + options.get(name) + "'");
        }
    }

    double number(String name, double fallback) {
        if (!options.containsKey(name)) {
            return fallback;
        }
        try {
            double v = Double.parseDouble(options.get(name));
            if (!Double.isFinite(v)) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new CliException(CliException.USAGE, "--" + name + " must be a finite number, got '" + options.get(name) + "'");
        }
    }

    List<String> positional() {
        return positional;
    }
}
