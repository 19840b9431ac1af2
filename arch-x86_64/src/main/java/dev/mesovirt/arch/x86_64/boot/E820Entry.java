package dev.mesovirt.arch.x86_64.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;

/**
 * One entry of the BIOS-style memory map passed in the zero page ({@code struct boot_e820_entry}: u64 addr,
 * u64 size, u32 type, packed into 20 bytes).
 *
 * @param addr start of the range (guest-physical), non-negative
 * @param size length of the range in bytes, positive; {@code addr + size} must not overflow
 * @param type {@link #RAM}, {@link #RESERVED}, {@link #ACPI}, {@link #NVS}, {@link #UNUSABLE} or another
 *             positive E820 type
 */
public record E820Entry(long addr, long size, int type) {

    /** Usable RAM. */
    public static final int RAM = 1;
    /** Reserved, not to be used by the OS. */
    public static final int RESERVED = 2;
    /** ACPI tables, reclaimable once they are read. */
    public static final int ACPI = 3;
    /** ACPI non-volatile storage. */
    public static final int NVS = 4;
    /** Memory with errors. */
    public static final int UNUSABLE = 5;

    public E820Entry {
        if (addr < 0) {
            throw new IllegalArgumentException("e820 entry address must not be negative: " + addr);
        }
        if (size <= 0) {
            throw new IllegalArgumentException("e820 entry size must be positive: " + size);
        }
        if (addr + size < 0) {
            throw new IllegalArgumentException(String.format(
                    "e820 entry 0x%X + 0x%X overflows the address space", addr, size));
        }
        if (type <= 0) {
            throw new IllegalArgumentException("e820 entry type must be positive: " + type);
        }
    }

    /** A {@link #RAM} entry. */
    public static E820Entry ram(long addr, long size) {
        return new E820Entry(addr, size, RAM);
    }

    /** A {@link #RESERVED} entry. */
    public static E820Entry reserved(long addr, long size) {
        return new E820Entry(addr, size, RESERVED);
    }

    /** End of the range, exclusive. */
    public long end() {
        return addr + size;
    }

    /** Whether this range and {@code other} share at least one byte. */
    public boolean overlaps(E820Entry other) {
        return addr < other.end() && other.addr < end();
    }

    /** Writes the 20-byte little-endian {@code struct boot_e820_entry} at the buffer's position. */
    public void writeTo(ByteBuffer target) {
        ByteBuffer le = target.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        le.putLong(addr).putLong(size).putInt(type);
        target.position(le.position());
    }

    /** The 20-byte little-endian {@code struct boot_e820_entry}. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(BootProtocol.E820_ENTRY_SIZE);
        writeTo(b);
        return b.array();
    }

    /**
     * Checks a memory map for the zero page: at least one and at most {@value BootProtocol#E820_MAX_ENTRIES}
     * entries, sorted by address, no two overlapping.
     *
     * @return the map as the zero page gets it: an unmodifiable copy, in the same order
     * @throws IllegalArgumentException naming the first offending entry
     */
    public static List<E820Entry> validate(List<E820Entry> map) {
        Objects.requireNonNull(map, "map");
        if (map.isEmpty()) {
            throw new IllegalArgumentException("e820 map is empty");
        }
        if (map.size() > BootProtocol.E820_MAX_ENTRIES) {
            throw new IllegalArgumentException("e820 map has " + map.size() + " entries, the zero page holds at most "
                    + BootProtocol.E820_MAX_ENTRIES);
        }
        E820Entry previous = null;
        for (int i = 0; i < map.size(); i++) {
            E820Entry e = Objects.requireNonNull(map.get(i), "e820 entry " + i);
            if (previous != null) {
                if (e.addr < previous.addr) {
                    throw new IllegalArgumentException("e820 map not sorted: entry " + i + " " + e
                            + " starts below entry " + (i - 1) + " " + previous);
                }
                if (e.overlaps(previous)) {
                    throw new IllegalArgumentException("e820 entries " + (i - 1) + " " + previous + " and " + i
                            + " " + e + " overlap");
                }
            }
            previous = e;
        }
        return List.copyOf(map);
    }

    @Override
    public String toString() {
        return String.format("[0x%X-0x%X) %s", addr, end(), typeName(type));
    }

    /** "RAM", "RESERVED", ... or "type N". */
    public static String typeName(int type) {
        return switch (type) {
            case RAM -> "RAM";
            case RESERVED -> "RESERVED";
            case ACPI -> "ACPI";
            case NVS -> "NVS";
            case UNUSABLE -> "UNUSABLE";
            default -> "type " + type;
        };
    }
}
