package dev.mesovirt.vmm.qmp;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Cuts a QMP input byte stream into top-level JSON values, as QEMU's json-streamer does: braces and brackets are
 * counted outside strings (double- or single-quoted, with backslash escapes), and a value ends when both counts are
 * back to zero; a scalar at the top level is a value of its own. It only frames: each value is then parsed strictly
 * by Gson ({@link QmpJson}), so whatever garbage this lets through is rejected there.
 *
 * <p>Limits and resynchronisation, following QEMU:
 * <ul>
 *   <li>a value longer than {@code maxBytes} or nested deeper than {@code maxDepth} yields an error ("JSON token
 *       size limit exceeded", "JSON nesting depth limit exceeded"), then the rest of that value is skipped without
 *       being kept (its braces still counted), so memory stays bounded whatever the client sends;
 *   <li>a lexical error (an ASCII control character other than tab, CR and LF outside strings, any control
 *       character inside a string, or the bytes 0xFE/0xFF that never occur in UTF-8) yields "JSON parse error,
 *       stray '...'" and resets the framer; this is how qmp-spec tells clients to force a known-good state.
 * </ul>
 * Not thread-safe: one per connection, fed by its reader.
 */
final class JsonFramer {
    /** What the framer produces. */
    sealed interface Frame {
        /** One complete top-level value, still unparsed (UTF-8). */
        record Value(byte[] json) implements Frame {
        }

        /** Input rejected before parsing, with QEMU's GenericError description. */
        record Error(String desc) implements Frame {
        }
    }

    private static final int INITIAL_BUFFER = 256;

    private final int maxBytes;
    private final int maxDepth;

    private byte[] buf = new byte[INITIAL_BUFFER];
    private int len;
    // long: a client may stream brackets without end while we skip them
    private long braces;
    private long brackets;
    private boolean inString;
    private boolean escape;
    private int quote;
    /** Inside a top-level scalar such as 42 or true, which ends at whitespace or a structural character. */
    private boolean bare;
    /** Skipping the rest of a value that broke a limit: structure is tracked, bytes are not kept. */
    private boolean discarding;

    JsonFramer(int maxBytes, int maxDepth) {
        if (maxBytes < 2 || maxDepth < 1) {
            throw new IllegalArgumentException("limits too small: " + maxBytes + " bytes, depth " + maxDepth);
        }
        this.maxBytes = maxBytes;
        this.maxDepth = maxDepth;
    }

    void feed(byte[] data, int offset, int length, Consumer<Frame> out) {
        for (int i = offset; i < offset + length; i++) {
            step(data[i] & 0xff, out);
        }
    }

    /**
     * As {@link #feed(byte[], int, int, Consumer)}, stopping right after the byte that completes the
     * {@code maxFrames}-th frame: the reader parses no further ahead than the requests it has room for.
     *
     * @return how many bytes were consumed ({@code length} unless it stopped early)
     */
    int feed(byte[] data, int offset, int length, Consumer<Frame> out, int maxFrames) {
        int[] frames = {0};
        Consumer<Frame> counting = f -> {
            frames[0]++;
            out.accept(f);
        };
        for (int i = offset; i < offset + length; i++) {
            step(data[i] & 0xff, counting);
            if (frames[0] >= maxFrames) {
                return i + 1 - offset;
            }
        }
        return length;
    }

    private void step(int b, Consumer<Frame> out) {
        if (inString) {
            stringByte(b, out);
            return;
        }
        if (b == 0xfe || b == 0xff || (b < 0x20 && b != '\t' && b != '\r' && b != '\n')) {
            lexicalError(b, out);
            return;
        }
        if (bare) {
            if (!endsBareToken(b)) {
                append(b, out);
                return;
            }
            finish(out);
            // b starts whatever follows the scalar
        }
        if (braces + brackets == 0) {
            topLevel(b, out);
            return;
        }
        append(b, out);
        switch (b) {
            case '{' -> braces++;
            case '[' -> brackets++;
            case '}' -> braces = Math.max(0, braces - 1);
            case ']' -> brackets = Math.max(0, brackets - 1);
            case '"', '\'' -> {
                inString = true;
                quote = b;
            }
            default -> {
            }
        }
        if (braces + brackets == 0) {
            finish(out);
        } else if (braces + brackets > maxDepth && !discarding) {
            startDiscarding("JSON nesting depth limit exceeded", out);
        }
    }

    private void topLevel(int b, Consumer<Frame> out) {
        switch (b) {
            case ' ', '\t', '\r', '\n' -> {
            }
            case '{' -> {
                append(b, out);
                braces = 1;
            }
            case '[' -> {
                append(b, out);
                brackets = 1;
            }
            case '"', '\'' -> {
                append(b, out);
                inString = true;
                quote = b;
            }
            case '}', ']', ':', ',' -> {
                // QEMU hands a lone structural token to its parser, which rejects it; Gson will too.
                append(b, out);
                finish(out);
            }
            default -> {
                append(b, out);
                bare = true;
            }
        }
    }

    private void stringByte(int b, Consumer<Frame> out) {
        if (b < 0x20 || b >= 0xfe) {
            lexicalError(b, out);
            return;
        }
        append(b, out);
        if (escape) {
            escape = false;
        } else if (b == '\\') {
            escape = true;
        } else if (b == quote) {
            inString = false;
            if (braces + brackets == 0) {
                finish(out);
            }
        }
    }

    private static boolean endsBareToken(int b) {
        return switch (b) {
            case ' ', '\t', '\r', '\n', '{', '}', '[', ']', ':', ',', '"', '\'' -> true;
            default -> false;
        };
    }

    private void append(int b, Consumer<Frame> out) {
        if (discarding) {
            return;
        }
        if (len == maxBytes) {
            startDiscarding("JSON token size limit exceeded", out);
            return;
        }
        if (len == buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min(maxBytes, 2L * buf.length));
        }
        buf[len++] = (byte) b;
    }

    private void startDiscarding(String desc, Consumer<Frame> out) {
        discarding = true;
        dropBuffer();
        out.accept(new Frame.Error(desc));
    }

    /** The current value is complete (or was being skipped): hand it out and start afresh. */
    private void finish(Consumer<Frame> out) {
        byte[] value = discarding || len == 0 ? null : Arrays.copyOf(buf, len);
        reset();
        if (value != null) {
            out.accept(new Frame.Value(value));
        }
    }

    private void lexicalError(int b, Consumer<Frame> out) {
        reset();
        String shown = b >= 0x20 && b < 0x7f ? String.valueOf((char) b) : String.format("\\x%02x", b);
        out.accept(new Frame.Error("JSON parse error, stray '" + shown + "'"));
    }

    /** Whether a value has begun and not yet ended (one being skipped for a broken limit does not count). */
    boolean midValue() {
        return !discarding && len > 0;
    }

    private void reset() {
        dropBuffer();
        braces = 0;
        brackets = 0;
        inString = false;
        escape = false;
        bare = false;
        discarding = false;
    }

    private void dropBuffer() {
        len = 0;
        if (buf.length > 64 * 1024) {
            buf = new byte[INITIAL_BUFFER]; // don't keep a large message's buffer for the rest of the session
        }
    }
}
