package dev.mesovirt.vmm.firmware;

/**
 * A fuzz input read front to back as little-endian numbers, zeros once it runs out: the firmware devices' targets
 * decode their own byte format (rather than Jazzer's FuzzedDataProvider, which takes some values from the end), so that
 * their seeds can be written by hand, byte by byte ({@link FirmwareFuzzSeedsTest}).
 */
final class FuzzBytes {
    private final byte[] in;
    private int at;

    FuzzBytes(byte[] in) {
        this.in = in;
    }

    boolean more() {
        return at < in.length;
    }

    int u8() {
        return at < in.length ? in[at++] & 0xFF : 0;
    }

    int u16() {
        return u8() | u8() << 8;
    }

    long u32() {
        return Integer.toUnsignedLong(u16() | u16() << 16);
    }

    long u64() {
        return u32() | u32() << 32;
    }

    /** An access width of a bus: 1, 2, 4 or 8 bytes. */
    int width() {
        return 1 << (u8() & 3);
    }

    byte[] bytes(int n) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = (byte) u8();
        }
        return out;
    }
}
