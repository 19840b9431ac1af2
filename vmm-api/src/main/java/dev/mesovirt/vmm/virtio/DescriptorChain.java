package dev.mesovirt.vmm.virtio;

import java.util.List;

/**
 * One available descriptor chain, already validated: every segment lies inside guest RAM, the device-readable
 * segments come first, then the device-writable ones.
 *
 * @param head the head descriptor index, returned in the used ring
 * @param readable device-readable segments (driver → device), in order
 * @param writable device-writable segments (device → driver), in order
 */
public record DescriptorChain(int head, List<Segment> readable, List<Segment> writable) {
    /** A guest buffer [address, address+length). */
    public record Segment(long address, int length) {}

    public long readableLength() {
        long n = 0;
        for (Segment s : readable) {
            n += s.length();
        }
        return n;
    }

    public long writableLength() {
        long n = 0;
        for (Segment s : writable) {
            n += s.length();
        }
        return n;
    }
}
