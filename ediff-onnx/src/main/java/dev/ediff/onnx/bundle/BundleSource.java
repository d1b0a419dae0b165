package dev.ediff.onnx.bundle;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Where a bundle's files come from: a folder, or a folder on the classpath. */
abstract sealed class BundleSource permits BundleSource.Folder, BundleSource.Classpath {

    /** Files above this size are refused (a byte[] cannot hold more, and no miniature needs it). */
    static final long MAX_FILE = Integer.MAX_VALUE - 64;

    /** Names the source in messages. */
    abstract String describe();

    /** Reads a file named by a manifest field. */
    abstract byte[] read(String file, String field);

    /** The file on disk, for a folder bundle. */
    abstract Optional<Path> path(String file, String field);

    /** A bundle folder on disk. */
    static final class Folder extends BundleSource {
        final Path dir;

        Folder(Path dir) {
            this.dir = dir;
        }

        @Override
        String describe() {
            return dir.toString();
        }

        @Override
        byte[] read(String file, String field) {
            Path p = BundlePaths.resolveInside(dir, file, describe() + "/" + Manifest.FILE, field);
            try {
                if (Files.size(p) > MAX_FILE) {
                    throw new BundleException(p + " (" + field + ") is larger than 2 GB");
                }
                return Files.readAllBytes(p);
            } catch (IOException e) {
                throw new BundleException(p + " (" + field + ") could not be read: " + e.getMessage(), e);
            }
        }

        @Override
        Optional<Path> path(String file, String field) {
            return Optional.of(BundlePaths.resolveInside(dir, file, describe() + "/" + Manifest.FILE, field));
        }
    }

    /** A bundle packaged as classpath resources under a folder name. */
    static final class Classpath extends BundleSource {
        final ClassLoader loader;
        final String root;

        Classpath(ClassLoader loader, String root) {
            this.loader = loader;
            String r = root.startsWith("/") ? root.substring(1) : root;
            this.root = r.endsWith("/") ? r : r + "/";
        }

        @Override
        String describe() {
            return "classpath:/" + root.substring(0, root.length() - 1);
        }

        @Override
        byte[] read(String file, String field) {
            BundlePaths.checkRelative(file, describe() + "/" + Manifest.FILE, field);
            try (InputStream in = loader.getResourceAsStream(root + file)) {
                if (in == null) {
                    throw new BundleException(describe() + "/" + Manifest.FILE + ": " + field + " names '" + file
                            + "', which is not on the classpath under " + describe());
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new BundleException(describe() + "/" + file + " (" + field + ") could not be read: " + e.getMessage(), e);
            }
        }

        @Override
        Optional<Path> path(String file, String field) {
            return Optional.empty();
        }
    }
}
