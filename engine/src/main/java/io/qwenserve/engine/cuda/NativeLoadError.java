package io.qwenserve.engine.cuda;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a native library load failure. JavaCPP reports the dynamic linker's message in the cause of the
 * {@link UnsatisfiedLinkError} it throws (the error itself says only "no jnitorch in java.library.path"), e.g.
 * {@code .../libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory}.
 */
public final class NativeLoadError {
    private static final Pattern MISSING = Pattern.compile("([A-Za-z0-9_+.-]+\\.so[0-9.]*): cannot open shared object file");

    private NativeLoadError() {}

    /** The first shared library the dynamic linker could not find, anywhere in the cause chain. */
    public static Optional<String> missingLibrary(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c.getMessage() != null) {
                Matcher m = MISSING.matcher(c.getMessage());
                if (m.find()) {
                    return Optional.of(m.group(1));
                }
            }
        }
        return Optional.empty();
    }

    /** The innermost message of the chain (the linker's own words), or the error's text. */
    public static String linkerMessage(Throwable t) {
        String msg = t.toString();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c.getMessage() != null) {
                msg = c.getMessage();
            }
        }
        return msg;
    }
}
