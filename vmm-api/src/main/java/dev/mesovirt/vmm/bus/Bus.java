package dev.mesovirt.vmm.bus;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * An address space (port I/O or MMIO) mapping non-overlapping ranges to devices. Reads of unclaimed addresses
 * return all ones, as on a real bus with nothing answering; writes to them are dropped. A range may also be claimed
 * inside another device's ({@link #insertWithin}): accesses that fit in it go to it, the rest to the outer device
 * (QEMU's overlapping subregion of higher priority; x86's reset control port 0xCF9 inside the PCI configuration
 * address port 0xCF8-0xCFB).
 */
public final class Bus {
    /** A device's claim on [base, base+length). */
    public record Range(long base, long length) {
        public Range {
            if (length <= 0 || base + length < base) {
                throw new IllegalArgumentException("bad bus range 0x" + Long.toHexString(base) + "+" + length);
            }
        }

        public long end() {
            return base + length;
        }

        boolean overlaps(Range other) {
            return base < other.end() && other.base < end();
        }

        @Override
        public String toString() {
            return "[0x" + Long.toHexString(base) + ", 0x" + Long.toHexString(end()) + ")";
        }
    }

    /** {@code inner}: claimed inside another entry's range ({@link #insertWithin}). */
    private record Entry(Range range, BusDevice device, String name, boolean inner) {}

    private final String name;
    private volatile TreeMap<Long, Entry> entries = new TreeMap<>();

    public Bus(String name) {
        this.name = name;
    }

    /** Claims a range for a device; an overlap with an existing claim is rejected. */
    public synchronized void insert(long base, long length, BusDevice device, String deviceName) {
        Range range = new Range(base, length);
        for (Entry e : entries.values()) {
            if (e.range.overlaps(range)) {
                throw new IllegalArgumentException(name + " bus: " + deviceName + " at " + range
                        + " overlaps " + e.name + " at " + e.range);
            }
        }
        TreeMap<Long, Entry> copy = new TreeMap<>(entries);
        copy.put(base, new Entry(range, device, deviceName, false));
        entries = copy; // copy-on-write: lookups from vCPU threads take no lock
    }

    /**
     * Claims {@code [base, base+length)} inside the range of one device already on the bus, which keeps every access
     * that does not fit in the new claim; the new range may not start where the outer one does, nor overlap another
     * inner claim.
     */
    public synchronized void insertWithin(long base, long length, BusDevice device, String deviceName) {
        Range range = new Range(base, length);
        Entry outer = null;
        for (Entry e : entries.values()) {
            if (!e.range.overlaps(range)) {
                continue;
            }
            boolean inside = e.range.base() < base && range.end() <= e.range.end();
            if (!inside || outer != null) {
                throw new IllegalArgumentException(name + " bus: " + deviceName + " at " + range
                        + " is not inside one other device's range alone (" + e.name + " at " + e.range + ")");
            }
            outer = e;
        }
        if (outer == null) {
            throw new IllegalArgumentException(name + " bus: " + deviceName + " at " + range
                    + " is inside no other device's range");
        }
        TreeMap<Long, Entry> copy = new TreeMap<>(entries);
        copy.put(base, new Entry(range, device, deviceName, true));
        entries = copy;
    }

    /** Releases the range starting at {@code base} (hot-unplug); returns whether one was there. */
    public synchronized boolean remove(long base) {
        if (!entries.containsKey(base)) {
            return false;
        }
        TreeMap<Long, Entry> copy = new TreeMap<>(entries);
        copy.remove(base);
        entries = copy;
        return true;
    }

    /**
     * The device whose range holds the whole access: the one starting nearest below it, else (an access beside or
     * across an inner claim) the ranges below, down to the first outer one, which holds it or nothing does.
     */
    private Entry find(long address, int size) {
        TreeMap<Long, Entry> map = entries;
        Map.Entry<Long, Entry> e = map.floorEntry(address);
        while (e != null) {
            Entry entry = e.getValue();
            if (address + size <= entry.range.end()) {
                return entry;
            }
            if (!entry.inner()) {
                return null;
            }
            e = map.lowerEntry(e.getKey());
        }
        return null;
    }

    /** Dispatches a read; returns false (and fills with 0xff) when no device claims the address. */
    public boolean read(long address, byte[] data) {
        Entry e = find(address, data.length);
        if (e == null) {
            Arrays.fill(data, (byte) 0xff);
            return false;
        }
        e.device.read(address - e.range.base(), data);
        return true;
    }

    /** Dispatches a write; returns false when no device claims the address. */
    public boolean write(long address, byte[] data) {
        Entry e = find(address, data.length);
        if (e == null) {
            return false;
        }
        e.device.write(address - e.range.base(), data);
        return true;
    }

    public String name() {
        return name;
    }
}
