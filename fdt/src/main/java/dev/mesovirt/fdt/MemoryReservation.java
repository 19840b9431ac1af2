package dev.mesovirt.fdt;

/**
 * One entry of the memory reservation block: a physical range the OS must not use as normal memory.
 *
 * <p>{@code address} and {@code size} are unsigned 64-bit values. The range must be non-empty
 * ({@code size != 0}, because a zero size terminates the block) and must not run past 2<sup>64</sup>.
 *
 * @param address first byte of the range (unsigned)
 * @param size length of the range in bytes (unsigned, non-zero)
 */
public record MemoryReservation(long address, long size) {

    /** @throws IllegalArgumentException if {@code size} is zero or {@code address + size} exceeds 2^64 */
    public MemoryReservation {
        if (size == 0) {
            throw new IllegalArgumentException("memory reservation at 0x" + Long.toHexString(address)
                    + " has size 0 (a zero-size entry would terminate the reservation block)");
        }
        // last = address + size - 1 must not wrap around (unsigned arithmetic).
        if (Long.compareUnsigned(size - 1, -1L - address) > 0) {
            throw new IllegalArgumentException("memory reservation 0x" + Long.toHexString(address) + " + 0x"
                    + Long.toHexString(size) + " runs past the end of the 64-bit address space");
        }
    }

    /** The last byte of the range (unsigned), {@code address + size - 1}. */
    public long lastAddress() {
        return address + size - 1;
    }

    /** Whether the two ranges share at least one byte; touching ranges do not overlap. */
    public boolean overlaps(MemoryReservation other) {
        return Long.compareUnsigned(address, other.lastAddress()) <= 0
                && Long.compareUnsigned(other.address, lastAddress()) <= 0;
    }

    @Override
    public String toString() {
        return "MemoryReservation[0x" + Long.toHexString(address) + " +0x" + Long.toHexString(size) + "]";
    }
}
