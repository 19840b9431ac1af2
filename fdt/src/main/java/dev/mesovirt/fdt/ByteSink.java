package dev.mesovirt.fdt;

import java.util.Arrays;

/** A growable big-endian byte buffer. */
final class ByteSink {

    private byte[] bytes = new byte[256];
    private int size;

    int size() {
        return size;
    }

    private void reserve(int extra) {
        long needed = (long) size + extra;
        if (needed > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("device tree block exceeds " + (Integer.MAX_VALUE - 8) + " bytes");
        }
        if (needed > bytes.length) {
            long grown = Math.max(needed, Math.min((long) bytes.length * 2, Integer.MAX_VALUE - 8));
            bytes = Arrays.copyOf(bytes, (int) grown);
        }
    }

    void putU32(int value) {
        reserve(4);
        bytes[size] = (byte) (value >>> 24);
        bytes[size + 1] = (byte) (value >>> 16);
        bytes[size + 2] = (byte) (value >>> 8);
        bytes[size + 3] = (byte) value;
        size += 4;
    }

    void putU64(long value) {
        putU32((int) (value >>> 32));
        putU32((int) value);
    }

    void put(byte[] data) {
        reserve(data.length);
        System.arraycopy(data, 0, bytes, size, data.length);
        size += data.length;
    }

    void putZeros(int count) {
        reserve(count);
        Arrays.fill(bytes, size, size + count, (byte) 0);
        size += count;
    }

    void alignTo4() {
        putZeros((int) (FdtFormat.align4(size) - size));
    }

    void copyTo(byte[] target, int offset) {
        System.arraycopy(bytes, 0, target, offset, size);
    }
}
