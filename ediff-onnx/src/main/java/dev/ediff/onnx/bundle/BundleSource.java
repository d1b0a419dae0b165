package dev.ediff.onnx.bundle;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

    /**
     * The current {@link FileStamp} of a file named by a manifest field (checked as {@link #read}
     * checks it), or null when it has none and must be read and checked afresh.
     */
    abstract FileStamp stamp(String file, String field);

    /**
     * An ONNX model file's bytes outside the Java heap: mapped read-only from a folder bundle
     * (then {@code path} is the file, which ONNX Runtime opens itself), or copied once into a
     * direct buffer from the classpath. The size is checked before anything is read.
     */
    abstract ModelFile model(String file, String field);

    /** A model's bytes (a direct or mapped buffer) and, for a folder bundle, its path. */
    record ModelFile(ByteBuffer bytes, Optional<Path> path) {
    }

    /**
     * Frees a direct or mapped buffer now rather than at a later garbage collection (which, with a
     * large young generation, may not come at all in a short run: the memory would stay resident).
     * The buffer must not be used afterwards. Without {@code sun.misc.Unsafe} the GC frees it.
     */
    static void free(ByteBuffer buffer) {
        dev.ediff.onnx.internal.DirectMemory.free(buffer);
    }

    static BundleException tooLarge(String where, String field, long size) {
        return new BundleException(where + " (" + field + ") is " + size + " bytes; a model file must be smaller than 2 GiB"
                + " (ONNX's protobuf limit): save larger weights as external data beside it");
    }

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

        @Override
        FileStamp stamp(String file, String field) {
            return FileStamp.of(BundlePaths.resolveInside(dir, file, describe() + "/" + Manifest.FILE, field));
        }

        @Override
        ModelFile model(String file, String field) {
            Path p = BundlePaths.resolveInside(dir, file, describe() + "/" + Manifest.FILE, field);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size > MAX_FILE) {
                    throw tooLarge(p.toString(), field, size);
                }
                return new ModelFile(ch.map(FileChannel.MapMode.READ_ONLY, 0, size), Optional.of(p));
            } catch (IOException e) {
                throw new BundleException(p + " (" + field + ") could not be read: " + e.getMessage(), e);
            }
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

        @Override
        FileStamp stamp(String file, String field) {
            BundlePaths.checkRelative(file, describe() + "/" + Manifest.FILE, field);
            URL url = loader.getResource(root + file);
            return url == null ? null : FileStamp.of(url);
        }

        @Override
        ModelFile model(String file, String field) {
            BundlePaths.checkRelative(file, describe() + "/" + Manifest.FILE, field);
            URL url = loader.getResource(root + file);
            if (url == null) {
                throw new BundleException(describe() + "/" + Manifest.FILE + ": " + field + " names '" + file
                        + "', which is not on the classpath under " + describe());
            }
            String where = describe() + "/" + file;
            try {
                URLConnection c = url.openConnection();
                long size = c.getContentLengthLong();
                if (size > MAX_FILE) {
                    throw tooLarge(where, field, size);
                }
                // Read straight into the direct buffer (the channel copies through a small buffer of its own),
                // so that opening leaves no large garbage on the Java heap.
                try (InputStream in = c.getInputStream(); ReadableByteChannel ch = Channels.newChannel(in)) {
                    ByteBuffer out = ByteBuffer.allocateDirect(size >= 0 ? (int) size + 1 : 1 << 20);
                    try {
                        while (ch.read(out) >= 0) {
                            if (!out.hasRemaining()) {
                                long grown = out.capacity() * 2L;
                                if (grown > MAX_FILE) {
                                    throw tooLarge(where, field, grown);
                                }
                                ByteBuffer bigger = ByteBuffer.allocateDirect((int) grown);
                                bigger.put(out.flip());
                                free(out);
                                out = bigger;
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        free(out);
                        throw e;
                    }
                    return new ModelFile(out.flip(), Optional.empty());
                }
            } catch (IOException e) {
                throw new BundleException(where + " (" + field + ") could not be read: " + e.getMessage(), e);
            }
        }
    }
}
