package dev.mesovirt.vmm.snapshot;

import java.nio.charset.StandardCharsets;

/**
 * Reads what {@link StateWriter} wrote, checking every bound: running past the end of the data, a length that does
 * not fit, or bytes left over ({@link #end()}) is a {@link SnapshotException} that names the section.
 */
public final class StateReader {
    private final String what;
    private final byte[] data;
    private int position;

    public StateReader(String what, byte[] data) {
        this.what = what;
        this.data = data;
    }

    private void need(int n) {
        if (n < 0 || data.length - position < n) {
            throw new SnapshotException("snapshot: " + what + " is truncated (needs " + Integer.toUnsignedString(n)
                    + " bytes at offset " + position + " of " + data.length + ")");
        }
    }

    public int u8() {
        need(1);
        return data[position++] & 0xff;
    }

    public boolean bool() {
        int v = u8();
        if (v > 1) {
            throw new SnapshotException("snapshot: " + what + " has a boolean of value " + v + " at offset " + (position - 1));
        }
        return v == 1;
    }

    public int u16() {
        need(2);
        int v = (data[position] & 0xff) | (data[position + 1] & 0xff) << 8;
        position += 2;
        return v;
    }

    public int u32() {
        int lo = u16();
        return lo | u16() << 16;
    }

    public long u64() {
        long lo = Integer.toUnsignedLong(u32());
        return lo | (long) u32() << 32;
    }

    /** A u32 that must lie in {@code [min, max]}, e.g. a count or a queue size. */
    public int u32In(String name, int min, int max) {
        int v = u32();
        if (v < min || v > max) {
            throw new SnapshotException("snapshot: " + what + " has " + name + " " + Integer.toUnsignedString(v)
                    + ", outside " + min + ".." + max);
        }
        return v;
    }

    public byte[] bytes() {
        int n = u32();
        need(n);
        byte[] v = new byte[n];
        System.arraycopy(data, position, v, 0, n);
        position += n;
        return v;
    }

    /** A byte array that must have exactly {@code length} bytes (a fixed kernel structure). */
    public byte[] bytes(String name, int length) {
        byte[] v = bytes();
        if (v.length != length) {
            throw new SnapshotException("snapshot: " + what + " has a " + name + " of " + v.length + " bytes, "
                    + "this VMM's has " + length);
        }
        return v;
    }

    public String string() {
        int n = u16();
        if (n > SnapshotFormat.MAX_STRING) {
            throw new SnapshotException("snapshot: " + what + " has a string of " + n + " bytes (at most "
                    + SnapshotFormat.MAX_STRING + ")");
        }
        need(n);
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(data, position, n)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new SnapshotException("snapshot: " + what + " has a string that is not UTF-8 at offset " + position);
        }
        position += n;
        return s;
    }

    public byte[] raw(int n) {
        need(n);
        byte[] v = new byte[n];
        System.arraycopy(data, position, v, 0, n);
        position += n;
        return v;
    }

    public int position() {
        return position;
    }

    public int remaining() {
        return data.length - position;
    }

    /** Every byte must have been read: left-over bytes mean a layout this reader does not know. */
    public void end() {
        if (position != data.length) {
            throw new SnapshotException("snapshot: " + what + " has " + (data.length - position)
                    + " bytes after its last field");
        }
    }
}
