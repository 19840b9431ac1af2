package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.bus.BusDevice;

/**
 * One base address register of a function: what kind of space it decodes, its size (a power of two) and the device
 * that answers accesses to it, at offsets from the BAR's start.
 *
 * @param listener told where the BAR is mapped, for what must move with it (a virtio queue's notify ioeventfd)
 */
public record Bar(Type type, boolean prefetchable, long size, BusDevice region, Listener listener) {
    /** The BAR's address space and width. */
    public enum Type {
        /** Port I/O (at most 256 ports per BAR). */
        IO,
        /** Memory below 4 GiB, one register. */
        MEMORY32,
        /** Memory anywhere, two registers. */
        MEMORY64
    }

    /** What to do when the BAR is mapped or unmapped. */
    public interface Listener {
        void mapped(long address);

        void unmapped(long address);

        /** A BAR nobody needs to follow. */
        Listener NONE = new Listener() {
            @Override
            public void mapped(long address) {}

            @Override
            public void unmapped(long address) {}
        };
    }

    public Bar {
        long max = type == Type.IO ? 256 : type == Type.MEMORY32 ? 1L << 31 : 1L << 62;
        long min = type == Type.IO ? 4 : 16;
        if (Long.bitCount(size) != 1 || size < min || size > max) {
            throw new IllegalArgumentException(type + " BAR size 0x" + Long.toHexString(size)
                    + " is not a power of two in 0x" + Long.toHexString(min) + "..0x" + Long.toHexString(max));
        }
        if (type == Type.IO && prefetchable) {
            throw new IllegalArgumentException("an I/O BAR is not prefetchable");
        }
    }

    public static Bar io(long size, BusDevice region) {
        return new Bar(Type.IO, false, size, region, Listener.NONE);
    }

    public static Bar memory32(long size, BusDevice region) {
        return new Bar(Type.MEMORY32, false, size, region, Listener.NONE);
    }

    public static Bar memory64(long size, boolean prefetchable, BusDevice region, Listener listener) {
        return new Bar(Type.MEMORY64, prefetchable, size, region, listener);
    }

    /** How many BAR registers it takes. */
    public int registers() {
        return type == Type.MEMORY64 ? 2 : 1;
    }

    /** The low bits of the BAR register that say its kind (read-only). */
    int flagBits() {
        return switch (type) {
            case IO -> 0x1;
            case MEMORY32 -> prefetchable ? 0x8 : 0x0;
            case MEMORY64 -> 0x4 | (prefetchable ? 0x8 : 0x0);
        };
    }
}
