package dev.ediff.onnx.bundle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Keeps a bundle's file references inside the bundle: bundles may come from strangers, so an
 * absolute path, a {@code ..} segment, or a symbolic link that resolves outside the bundle folder
 * is refused.
 */
final class BundlePaths {

    private BundlePaths() {
    }

    /** Checks the form of a manifest path: relative, forward slashes, no {@code ..}, no empty segment. */
    static void checkRelative(String file, String where, String field) {
        String why = null;
        if (file.startsWith("/") || file.startsWith("\\") || driveLetter(file)) {
            why = "is absolute";
        } else if (file.contains("\\")) {
            why = "uses a backslash (use '/')";
        } else if (file.contains("\u0000")) {
            why = "contains a NUL character";
        } else {
            for (String seg : file.split("/", -1)) {
                if (seg.equals("..")) {
                    why = "leaves the bundle folder ('..')";
                    break;
                }
                if (seg.isEmpty() || seg.equals(".")) {
                    why = "has an empty or '.' segment";
                    break;
                }
            }
        }
        if (why != null) {
            throw new BundleException(where + ": " + field + " '" + file + "' " + why
                    + "; files must be given relative to the bundle folder, inside it");
        }
    }

    /** True for a Windows drive path such as {@code C:x} (no regular expression: this runs for every file of every open). */
    private static boolean driveLetter(String file) {
        if (file.length() < 2 || file.charAt(1) != ':') {
            return false;
        }
        char c = file.charAt(0);
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    /** Resolves a checked relative path against the bundle folder and makes sure the real file is inside it. */
    static Path resolveInside(Path bundleDir, String file, String where, String field) {
        checkRelative(file, where, field);
        Path p = bundleDir.resolve(file);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.exists(p)) {
            throw new BundleException(where + ": " + field + " names '" + file + "', which does not exist in "
                    + bundleDir);
        }
        try {
            Path realDir = bundleDir.toRealPath();
            Path real = p.toRealPath();
            if (!real.startsWith(realDir)) {
                throw new BundleException(where + ": " + field + " '" + file + "' resolves to " + real
                        + ", outside the bundle folder " + realDir + " (symbolic links must stay inside the bundle)");
            }
            if (!Files.isRegularFile(real)) {
                throw new BundleException(where + ": " + field + " '" + file + "' is not a regular file");
            }
            return real;
        } catch (IOException e) {
            throw new BundleException(where + ": " + field + " '" + file + "' cannot be read: " + e.getMessage(), e);
        }
    }
}
