package dev.ediff.onnx.bundle;

import java.io.IOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;

/**
 * What identifies one version of a bundle file without reading it: the file (its real path and,
 * where the file system has one, its device and inode), size, modification and status-change times;
 * for a classpath resource in a jar, the jar file's stamp plus the entry's name, size and CRC-32.
 * Two equal stamps mean the same content, except for a file rewritten in place with its size and
 * both times unchanged, which a process other than a deliberate forger does not do.
 *
 * <p>A file changed within {@link #racyNanos} of being stamped has no stamp: it may be written again
 * within the same tick of the file system's clock (coarse on some file systems), so that the change
 * would not show in its times. Such a file is read and checked on every open until it has been still
 * for a while (as git treats "racily clean" files).
 *
 * @param file     the real path of the file, or of the jar holding the entry
 * @param key      the file system's identity of the file (device and inode on Unix), or null
 * @param size     the file's size in bytes
 * @param modified the modification time, ns since the epoch
 * @param changed  the status-change time (Unix ctime; any write or rename sets it), ns since the epoch, or -1
 * @param entry    the jar entry's name, or "" for a plain file
 * @param entrySize the jar entry's uncompressed size, or -1
 * @param crc      the jar entry's CRC-32, or -1
 */
record FileStamp(String file, Object key, long size, long modified, long changed, String entry, long entrySize,
                 long crc) {

    /**
     * Files changed less than this long before being stamped are not stamped: 2 s, FAT's time
     * resolution (others have 1 s or finer). Tests shorten it to wait less for their files to settle.
     */
    static volatile long racyNanos = TimeUnit.SECONDS.toNanos(2);

    /**
     * The stamp of a file on disk, or null when it has none (it cannot be read, or it changed too
     * recently to be told apart from a later change).
     *
     * @param path the file
     * @return its stamp, or null
     */
    static FileStamp of(Path path) {
        try {
            Path real = path.toRealPath();
            BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                return null;
            }
            long modified = nanos(a.lastModifiedTime());
            long changed = -1;
            try {
                Object ctime = Files.getAttribute(real, "unix:ctime");
                if (ctime instanceof FileTime t) {
                    changed = nanos(t);
                }
            } catch (UnsupportedOperationException | IllegalArgumentException e) {
                // no Unix attributes (Windows): size, modification time and file key must do
            }
            long now = System.currentTimeMillis() * 1_000_000L;
            long racy = racyNanos;
            if (now - modified < racy || (changed >= 0 && now - changed < racy)) {
                return null;
            }
            return new FileStamp(real.toString(), a.fileKey(), a.size(), modified, changed, "", -1, -1);
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    /**
     * The stamp of a classpath resource: a plain file ({@code file:}) or an entry of a jar file on
     * disk ({@code jar:file:}); null for anything else (nested jars, remote or custom class loaders),
     * which is then read and checked on every open.
     *
     * @param url the resource
     * @return its stamp, or null
     */
    static FileStamp of(URL url) {
        try {
            if (url.getProtocol().equals("file")) {
                return of(Path.of(url.toURI()));
            }
            if (!url.getProtocol().equals("jar")) {
                return null;
            }
            URLConnection c = url.openConnection();
            if (!(c instanceof JarURLConnection jar) || !jar.getJarFileURL().getProtocol().equals("file")) {
                return null;
            }
            FileStamp archive = of(Path.of(jar.getJarFileURL().toURI()));
            JarEntry e = jar.getJarEntry();
            if (archive == null || e == null || e.getCrc() < 0 || e.getSize() < 0) {
                return null;
            }
            return new FileStamp(archive.file, archive.key, archive.size, archive.modified, archive.changed,
                    e.getName(), e.getSize(), e.getCrc());
        } catch (IOException | URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    private static long nanos(FileTime t) {
        return t.to(TimeUnit.NANOSECONDS);
    }
}
