package dev.ediff.onnx.bundle;

import dev.ediff.api.EDiffException;

/**
 * A model bundle that cannot be opened: a missing or unsafe file, a manifest field that is absent
 * or wrong, or an ONNX model whose inputs and outputs do not match the manifest. The message names
 * the file, the manifest field and what would be right.
 */
public class BundleException extends EDiffException {

    /**
     * Creates the exception.
     *
     * @param message the file, the manifest field and what would be right
     */
    public BundleException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message the file, the manifest field and what would be right
     * @param cause   the underlying failure
     */
    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
