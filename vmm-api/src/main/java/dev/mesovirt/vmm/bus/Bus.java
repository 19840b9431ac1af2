package dev.mesovirt.vmm.bus;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * An address space (port I/O or MMIO) mapping non-overlapping ranges to devices. Reads of unclaimed addresses
 * return all ones, as on a real bus with nothing answering; writes to them are dropped.
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

    private record Entry(Range range, BusDevice device, String name) {}

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
        copy.put(base, new Entry(range, device, deviceName));
        entries = copy; // copy-on-write: lookups from vCPU threads take no lock
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

    private Entry find(long address, int size) {
        Map.Entry<Long, Entry> e = entries.floorEntry(address);
        if (e == null) {
            return null;
        }
        Entry entry = e.getValue();
        return address + size <= entry.range.end() ? entry : null;
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
