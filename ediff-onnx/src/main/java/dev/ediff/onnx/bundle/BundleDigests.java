package dev.ediff.onnx.bundle;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Checks bundle files against the manifest's optional {@code sha256} digests, so that damaged or
 * altered weights are refused when the bundle opens instead of producing wrong images.
 */
final class BundleDigests {

    private BundleDigests() {
    }

    /**
     * Checks {@code bytes}, the content of bundle file {@code file}, against the manifest's digest
     * for it, if there is one; returns the bytes.
     *
     * @throws BundleException naming the file, both digests and the fix
     */
    static byte[] check(Manifest m, String bundle, String file, byte[] bytes) {
        String expected = m.sha256().get(file);
        if (expected != null) {
            MessageDigest d = sha256();
            d.update(bytes);
            compare(bundle, file, expected, HexFormat.of().formatHex(d.digest()));
        }
        return bytes;
    }

    /**
     * Checks a digest computed earlier (or just now) for bundle file {@code file} against the
     * manifest's, if it has one.
     *
     * @throws BundleException naming the file, both digests and the fix
     */
    static void verify(Manifest m, String bundle, String file, String actual) {
        String expected = m.sha256().get(file);
        if (expected != null) {
            compare(bundle, file, expected, actual);
        }
    }

    /** The SHA-256 digest of {@code bytes}, as 64 lowercase hex digits. */
    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    /** The SHA-256 digest of the remaining bytes of {@code bytes} (its position is left as it was). */
    static String sha256(java.nio.ByteBuffer bytes) {
        MessageDigest d = sha256();
        d.update(bytes.duplicate());
        return HexFormat.of().formatHex(d.digest());
    }

    /** Like {@link #check(Manifest, String, String, byte[])} for a file on disk, read as a stream. */
    static void check(Manifest m, String bundle, String file, Path path) {
        String expected = m.sha256().get(file);
        if (expected != null) {
            compare(bundle, file, expected, sha256(path, bundle + "/" + file));
        }
    }

    /** The SHA-256 digest of a file, as 64 lowercase hex digits. */
    static String sha256(Path path, String describe) {
        MessageDigest d = sha256();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(path)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                d.update(buffer, 0, n);
            }
        } catch (IOException e) {
            throw new BundleException(describe + " could not be read to verify its digest: " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static void compare(String bundle, String file, String expected, String actual) {
        if (!expected.equals(actual)) {
            throw new BundleException(bundle + "/" + file + " is damaged or was changed: its SHA-256 is " + actual
                    + " but " + Manifest.FILE + " sha256[\"" + file + "\"] is " + expected
                    + "; restore the file, or update the digest if the change is intended");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
