package dev.mesovirt.arch.x86_64.boot;

/**
 * A segment register as {@code KVM_SET_SREGS} takes it ({@code struct kvm_segment}), i.e. the cached,
 * already decoded form of a descriptor.
 *
 * @param base     segment base
 * @param limit    byte-granular limit as an unsigned 32-bit value: a descriptor with G=1 and limit 0xFFFFF
 *                 gives 0xFFFFFFFF (-1 as an int). VMX takes the limit unscaled, so the scaling is done here.
 * @param selector selector (GDT index * 8)
 * @param type     4-bit descriptor type (e.g. 0xB execute/read accessed code, 0x3 read/write accessed data,
 *                 0xB busy 64-bit TSS)
 * @param present  P
 * @param dpl      descriptor privilege level, 0-3
 * @param db       D/B (default operand size); must be 0 for a 64-bit code segment
 * @param s        S: 1 for code/data, 0 for system descriptors (TSS)
 * @param l        L: 64-bit code segment
 * @param g        G: 4 KiB granularity of the descriptor's limit
 * @param avl      AVL
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
        boolean s, boolean l, boolean g, boolean avl) {

    public Segment {
        if ((type & ~0xF) != 0) {
            throw new IllegalArgumentException("segment type is 4 bits: " + type);
        }
        if ((dpl & ~0x3) != 0) {
            throw new IllegalArgumentException("dpl is 2 bits: " + dpl);
        }
        if ((selector & ~0xFFFF) != 0) {
            throw new IllegalArgumentException("selector is 16 bits: " + selector);
        }
    }

    /** {@code kvm_segment.unusable}: a segment that is not present is marked unusable. */
    public boolean unusable() {
        return !present;
    }

    /** The limit as an unsigned value. */
    public long limitUnsigned() {
        return Integer.toUnsignedLong(limit);
    }

    /**
     * Decodes an 8-byte code/data (or the low half of a system) descriptor, scaling the 20-bit limit to bytes
     * when G is set.
     */
    public static Segment fromDescriptor(long descriptor, int selector) {
        long base = ((descriptor >>> 16) & 0xFF_FFFFL) | ((descriptor >>> 32) & 0xFF00_0000L);
        int rawLimit = (int) ((descriptor & 0xFFFF) | ((descriptor >>> 32) & 0xF_0000));
        boolean g = bit(descriptor, 55);
        int limit = g ? (rawLimit << 12) | 0xFFF : rawLimit;
        return new Segment(
                base,
                limit,
                selector,
                (int) ((descriptor >>> 40) & 0xF),
                bit(descriptor, 47),
                (int) ((descriptor >>> 45) & 0x3),
                bit(descriptor, 54),
                bit(descriptor, 44),
                bit(descriptor, 53),
                g,
                bit(descriptor, 52));
    }

    private static boolean bit(long value, int bit) {
        return ((value >>> bit) & 1) != 0;
    }
}
