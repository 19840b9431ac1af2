package dev.mesovirt.vmm.pci;

import java.util.Arrays;

/**
 * The configuration space of one PCI function: 256 bytes (conventional) or 4096 (PCI Express, with extended
 * capabilities from 0x100), each byte with a mask of the bits the guest may write and a mask of the bits a guest
 * write of 1 clears (RW1C, e.g. the error bits of the Status register). Bits in neither mask are read-only to the
 * guest; the device itself changes any bit with the {@code set*} methods.
 *
 * <p>The capability list (Status bit 4, pointer at 0x34) and the extended capability list (from 0x100) are built here
 * too, so that every function chains them the same way.
 *
 * <p>Thread-safe, and calls nothing: a device may update it from any thread (an interrupt status bit from the device
 * thread) while a vCPU writes it.
 */
public final class ConfigSpace {
    /** Size of a conventional PCI function's space. */
    public static final int CONVENTIONAL = 256;
    /** Size of a PCI Express function's space. */
    public static final int EXTENDED = 4096;
    /** Status register bit: the function has a capability list. */
    static final int STATUS_CAP_LIST = 0x10;
    /** Capabilities start after the type 0/1 header. */
    private static final int FIRST_CAPABILITY = 0x40;
    private static final int FIRST_EXTENDED = 0x100;

    private final byte[] bytes;
    private final byte[] writable;
    private final byte[] clearable;
    /** The power-on contents and masks, for {@link #reset}. */
    private byte[] resetBytes;
    private int nextCapability = FIRST_CAPABILITY;
    private int lastCapability;
    private int nextExtended = FIRST_EXTENDED;
    private int lastExtended;

    public ConfigSpace(int size) {
        if (size != CONVENTIONAL && size != EXTENDED) {
            throw new IllegalArgumentException("a configuration space has 256 or 4096 bytes, not " + size);
        }
        bytes = new byte[size];
        writable = new byte[size];
        clearable = new byte[size];
    }

    public int size() {
        return bytes.length;
    }

    /**
     * What the guest reads: {@code length} (1, 2 or 4) bytes at {@code offset}, little-endian. Bytes outside the
     * space read as 0 (like unimplemented registers).
     */
    public synchronized int read(int offset, int length) {
        int v = 0;
        for (int i = 0; i < length; i++) {
            int at = offset + i;
            if (at >= 0 && at < bytes.length) {
                v |= (bytes[at] & 0xff) << (8 * i);
            }
        }
        return v;
    }

    /**
     * A guest write of {@code length} (1, 2 or 4) bytes: writable bits take the new value, RW1C bits written as 1
     * clear, the rest keep their value. Bytes outside the space are dropped.
     */
    public synchronized void write(int offset, int length, int value) {
        for (int i = 0; i < length; i++) {
            int at = offset + i;
            if (at < 0 || at >= bytes.length) {
                continue;
            }
            int v = (value >>> (8 * i)) & 0xff;
            int w = writable[at] & 0xff;
            int c = clearable[at] & 0xff;
            int old = bytes[at] & 0xff;
            bytes[at] = (byte) (((old & ~w) | (v & w)) & ~(v & c));
        }
    }

    /** The device's view: reads like the guest's. */
    public int get8(int offset) {
        return read(offset, 1);
    }

    public int get16(int offset) {
        return read(offset, 2);
    }

    public int get32(int offset) {
        return read(offset, 4);
    }

    /** Sets bytes regardless of the masks (the device's own update). */
    public synchronized void set(int offset, int length, int value) {
        for (int i = 0; i < length; i++) {
            bytes[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    public void set8(int offset, int value) {
        set(offset, 1, value);
    }

    public void set16(int offset, int value) {
        set(offset, 2, value);
    }

    public void set32(int offset, int value) {
        set(offset, 4, value);
    }

    /** Sets and clears bits of the register at {@code offset} atomically (device side, masks ignored). */
    public synchronized void update(int offset, int length, int clear, int setBits) {
        int v = read(offset, length);
        set(offset, length, (v & ~clear) | setBits);
    }

    /** Declares which bits of {@code length} bytes at {@code offset} the guest may write. */
    public synchronized void setWritable(int offset, int length, int mask) {
        for (int i = 0; i < length; i++) {
            writable[offset + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** Declares which bits of {@code length} bytes at {@code offset} a guest write of 1 clears. */
    public synchronized void setClearable(int offset, int length, int mask) {
        for (int i = 0; i < length; i++) {
            clearable[offset + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** The guest-writable mask of {@code length} bytes at {@code offset}. */
    public synchronized int writableMask(int offset, int length) {
        int v = 0;
        for (int i = 0; i < length; i++) {
            v |= (writable[offset + i] & 0xff) << (8 * i);
        }
        return v;
    }

    /**
     * Appends a capability of {@code length} bytes (at least the 2-byte header) with ID {@code id} to the capability
     * list, dword aligned, and returns its offset. The new capability's ID and next pointer are read-only.
     */
    public synchronized int addCapability(int id, int length) {
        if (length < 2) {
            throw new IllegalArgumentException("a capability has at least its ID and next pointer");
        }
        int at = nextCapability;
        if (at + length > CONVENTIONAL) {
            throw new IllegalArgumentException("capability 0x" + Integer.toHexString(id) + " of " + length
                    + " bytes does not fit below 0x100");
        }
        set8(at, id);
        set8(at + 1, 0);
        if (lastCapability == 0) {
            set8(0x34, at);
            update(0x06, 2, 0, STATUS_CAP_LIST);
        } else {
            set8(lastCapability + 1, at);
        }
        lastCapability = at;
        nextCapability = (at + length + 3) & ~3;
        return at;
    }

    /**
     * Appends a PCI Express extended capability of {@code length} bytes (at least the 4-byte header) at or after
     * 0x100 and returns its offset. Only on a 4096-byte space.
     */
    public synchronized int addExtendedCapability(int id, int version, int length) {
        if (bytes.length != EXTENDED) {
            throw new IllegalArgumentException("extended capabilities need a 4096-byte configuration space");
        }
        int at = nextExtended;
        if (length < 4 || at + length > EXTENDED) {
            throw new IllegalArgumentException("extended capability 0x" + Integer.toHexString(id) + " of " + length
                    + " bytes does not fit");
        }
        set32(at, (id & 0xffff) | (version & 0xf) << 16);
        if (lastExtended != 0) {
            update(lastExtended, 4, 0xfff0_0000, at << 20);
        }
        lastExtended = at;
        nextExtended = (at + length + 3) & ~3;
        return at;
    }

    /** The offset of the first capability with ID {@code id}, or 0; follows the chain as a guest would. */
    public synchronized int findCapability(int id) {
        if ((get16(0x06) & STATUS_CAP_LIST) == 0) {
            return 0;
        }
        int at = get8(0x34) & 0xfc;
        for (int seen = 0; at >= FIRST_CAPABILITY && seen < 48; seen++) {
            if (get8(at) == id) {
                return at;
            }
            at = get8(at + 1) & 0xfc;
        }
        return 0;
    }

    /** A copy of every byte: for tests that compare whole states (one read per register costs far more). */
    synchronized byte[] contents() {
        return bytes.clone();
    }

    /** Records the current contents and masks as the power-on state that {@link #reset} returns to. */
    public synchronized void markPowerOn() {
        resetBytes = bytes.clone();
    }

    /** Returns every byte to its power-on value (the masks do not change). */
    public synchronized void reset() {
        if (resetBytes != null) {
            System.arraycopy(resetBytes, 0, bytes, 0, bytes.length);
        } else {
            Arrays.fill(bytes, (byte) 0);
        }
    }
}
