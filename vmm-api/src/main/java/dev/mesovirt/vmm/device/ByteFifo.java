package dev.mesovirt.vmm.device;

/**
 * A UART's receive FIFO: a ring of bytes of fixed capacity, filled up to a limit the UART sets (its FIFO mode's depth,
 * or 1 without a FIFO); in a snapshot, the bytes it holds in order. Not thread-safe: the UART's lock guards it.
 */
final class ByteFifo {
    private final byte[] ring;
    private int head;
    private int count;

    ByteFifo(int capacity) {
        ring = new byte[capacity];
    }

    int size() {
        return count;
    }

    void clear() {
        head = 0;
        count = 0;
    }

    /** Appends {@code b} unless {@code limit} bytes are held already; whether it did. */
    boolean push(byte b, int limit) {
        if (count >= Math.min(limit, ring.length)) {
            return false;
        }
        ring[(head + count) % ring.length] = b;
        count++;
        return true;
    }

    /** Appends as many of {@code length} bytes from {@code data[offset]} as fit under {@code limit}; how many. */
    int push(byte[] data, int offset, int length, int limit) {
        int taken = 0;
        while (taken < length && push(data[offset + taken], limit)) {
            taken++;
        }
        return taken;
    }

    /** The oldest byte (0-255), removed; -1 when empty. */
    int pop() {
        if (count == 0) {
            return -1;
        }
        int b = ring[head] & 0xFF;
        head = (head + 1) % ring.length;
        count--;
        return b;
    }

    /** The bytes held, oldest first (a snapshot's form). */
    byte[] contents() {
        byte[] out = new byte[count];
        for (int i = 0; i < count; i++) {
            out[i] = ring[(head + i) % ring.length];
        }
        return out;
    }

    /** Whether {@code bytes} fit: what a snapshot's section is checked for before the UART changes anything. */
    boolean fits(byte[] bytes) {
        return bytes.length <= ring.length;
    }

    int capacity() {
        return ring.length;
    }

    /** Holds exactly {@code bytes} (oldest first), which {@link #fits} must have accepted. */
    void restore(byte[] bytes) {
        if (!fits(bytes)) {
            throw new IllegalArgumentException(bytes.length + " bytes in a FIFO of " + ring.length);
        }
        System.arraycopy(bytes, 0, ring, 0, bytes.length);
        head = 0;
        count = bytes.length;
    }
}
