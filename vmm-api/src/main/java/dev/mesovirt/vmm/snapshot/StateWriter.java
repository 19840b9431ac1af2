package dev.mesovirt.vmm.snapshot;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds a section's data: little-endian fixed-size integers, length-prefixed byte arrays and strings. */
public final class StateWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public StateWriter u8(int v) {
        out.write(v);
        return this;
    }

    public StateWriter bool(boolean v) {
        return u8(v ? 1 : 0);
    }

    public StateWriter u16(int v) {
        out.write(v);
        out.write(v >>> 8);
        return this;
    }

    public StateWriter u32(int v) {
        u16(v);
        return u16(v >>> 16);
    }

    public StateWriter u64(long v) {
        u32((int) v);
        return u32((int) (v >>> 32));
    }

    /** A byte array with its length (u32) first. */
    public StateWriter bytes(byte[] v) {
        u32(v.length);
        out.writeBytes(v);
        return this;
    }

    /** A UTF-8 string of at most {@link SnapshotFormat#MAX_STRING} bytes, with its length (u16) first. */
    public StateWriter string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > SnapshotFormat.MAX_STRING) {
            throw new IllegalArgumentException("string longer than " + SnapshotFormat.MAX_STRING + " bytes: " + s);
        }
        u16(b.length);
        out.writeBytes(b);
        return this;
    }

    public StateWriter raw(byte[] v) {
        out.writeBytes(v);
        return this;
    }

    public int size() {
        return out.size();
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }
}
