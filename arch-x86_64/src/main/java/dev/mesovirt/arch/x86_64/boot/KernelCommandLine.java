package dev.mesovirt.arch.x86_64.boot;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds a kernel command line: space-separated {@code key=value} parameters and flags, at most
 * {@code maxLength} bytes (UTF-8) without the terminating NUL, the limit the kernel announces in
 * {@code cmdline_size}.
 *
 * <p>Every method checks its argument and the resulting length before changing anything, so a rejected call
 * leaves the line as it was. NUL bytes are rejected everywhere (the kernel would cut the line there). A value
 * containing white space is wrapped in double quotes, which the kernel's parser strips; such a value must not
 * itself contain a double quote.
 */
public final class KernelCommandLine {

    private final long maxLength;
    private final StringBuilder line = new StringBuilder();
    private int byteLength;

    /**
     * An empty command line of at most {@code maxLength} bytes without the NUL.
     *
     * @throws IllegalArgumentException if {@code maxLength} is negative
     */
    public KernelCommandLine(long maxLength) {
        if (maxLength < 0) {
            throw new IllegalArgumentException("negative command line limit " + maxLength);
        }
        this.maxLength = maxLength;
    }

    /**
     * An empty command line limited by the kernel's {@code cmdline_size} and by the room
     * {@link LowMemoryMap#CMDLINE_MAX_SIZE} leaves (NUL included).
     */
    public static KernelCommandLine forKernel(SetupHeader header) {
        return new KernelCommandLine(Math.min(header.cmdlineSize(), LowMemoryMap.CMDLINE_MAX_SIZE - 1));
    }

    /** Appends a flag such as {@code quiet} or {@code ro}. */
    public KernelCommandLine flag(String flag) {
        checkKey(flag, "flag");
        return appendToken(flag);
    }

    /** Appends {@code key=value}; a value with white space is quoted. An empty value gives {@code key=}. */
    public KernelCommandLine param(String key, String value) {
        checkKey(key, "parameter name");
        if (value == null) {
            throw new IllegalArgumentException("value of " + key + " is null");
        }
        checkNoNul(value, "value of " + key);
        String rendered = value;
        if (value.chars().anyMatch(Character::isWhitespace)) {
            if (value.indexOf('"') >= 0) {
                throw new IllegalArgumentException("value of " + key
                        + " contains both white space and a double quote, which the kernel cannot parse: " + value);
            }
            rendered = '"' + value + '"';
        }
        return appendToken(key + "=" + rendered);
    }

    /** Appends {@code key=value} with a decimal number. */
    public KernelCommandLine param(String key, long value) {
        return param(key, Long.toString(value));
    }

    /**
     * Appends user-supplied text as it is (trimmed), e.g. extra arguments from the command line of the VMM.
     * Blank text is ignored.
     */
    public KernelCommandLine append(String raw) {
        if (raw == null) {
            throw new IllegalArgumentException("command line text is null");
        }
        checkNoNul(raw, "command line text");
        String trimmed = raw.strip();
        return trimmed.isEmpty() ? this : appendToken(trimmed);
    }

    /** Length in bytes without the NUL. */
    public int length() {
        return byteLength;
    }

    /** The limit in bytes without the NUL. */
    public long maxLength() {
        return maxLength;
    }

    /** The NUL-terminated UTF-8 bytes to store at the command line address. */
    public byte[] toBytes() {
        byte[] text = line.toString().getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(text, text.length + 1);
    }

    /** The line without the NUL. */
    @Override
    public String toString() {
        return line.toString();
    }

    private KernelCommandLine appendToken(String token) {
        int tokenBytes = token.getBytes(StandardCharsets.UTF_8).length;
        long newLength = (long) byteLength + (line.isEmpty() ? 0 : 1) + tokenBytes;
        if (newLength > maxLength) {
            throw new IllegalArgumentException("kernel command line too long: adding \"" + token + "\" makes it "
                    + newLength + " bytes, the kernel accepts at most " + maxLength + " (cmdline_size)");
        }
        if (!line.isEmpty()) {
            line.append(' ');
        }
        line.append(token);
        byteLength = (int) newLength;
        return this;
    }

    private static void checkKey(String key, String what) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        checkNoNul(key, what);
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (Character.isWhitespace(c) || c == '=' || c == '"' || Character.isISOControl(c)) {
                throw new IllegalArgumentException(what + " must not contain white space, '=', '\"' or control"
                        + " characters: \"" + key + "\"");
            }
        }
    }

    private static void checkNoNul(String s, String what) {
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character");
        }
    }
}
