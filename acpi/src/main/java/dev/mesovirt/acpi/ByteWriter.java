package dev.mesovirt.acpi;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Growable little-endian byte buffer. ACPI tables are packed little-endian structures, so every
 * multi-byte field goes through here instead of ad-hoc shifting at each call site.
 */
public final class ByteWriter {

    private byte[] buf;
    private int size;

    public ByteWriter() {
        this(256);
    }

    public ByteWriter(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    public int position() {
        return size;
    }

    public ByteWriter u8(int value) {
        ensure(1);
        buf[size++] = (byte) value;
        return this;
    }

    public ByteWriter u16(int value) {
        return u8(value).u8(value >>> 8);
    }

    public ByteWriter u32(long value) {
        return u16((int) value).u16((int) (value >>> 16));
    }

    public ByteWriter u64(long value) {
        return u32(value).u32(value >>> 32);
    }

    public ByteWriter bytes(byte[] data) {
        ensure(data.length);
        System.arraycopy(data, 0, buf, size, data.length);
        size += data.length;
        return this;
    }

    public ByteWriter zeros(int count) {
        ensure(count);
        size += count; // the backing array is zero-initialised and never shrinks
        return this;
    }

    /** Writes exactly {@code width} ASCII bytes; ACPI identifiers are fixed-width, not terminated. */
    public ByteWriter ascii(String text, int width) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        if (b.length != width || !text.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new IllegalArgumentException(
                    "expected " + width + " printable ASCII characters but got \"" + text + "\"");
        }
        return bytes(b);
    }

    /** Pads with zero bytes up to the next multiple of {@code alignment} (a power of two). */
    public ByteWriter alignTo(int alignment) {
        int aligned = (size + alignment - 1) & -alignment;
        return zeros(aligned - size);
    }

    public void putU8At(int offset, int value) {
        buf[offset] = (byte) value;
    }

    public void putU32At(int offset, long value) {
        for (int i = 0; i < 4; i++) {
            buf[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    public void putU64At(int offset, long value) {
        putU32At(offset, value);
        putU32At(offset + 4, value >>> 32);
    }

    /** The byte that makes {@code data[offset, offset+length)} sum to zero modulo 256. */
    public int checksumOf(int offset, int length) {
        return checksum(buf, offset, length);
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    public static int checksum(byte[] data, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += data[i];
        }
        return -sum & 0xFF;
    }

    private void ensure(int extra) {
        if (size + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
        }
    }
}
