package dev.mesovirt.fdt;

/** Constants of the flattened device tree format (Devicetree Specification, chapter 5). */
final class FdtFormat {

    static final int MAGIC = 0xd00dfeed;
    static final int VERSION = 17;
    static final int LAST_COMPATIBLE_VERSION = 16;

    /** Ten big-endian u32 fields. */
    static final int HEADER_SIZE = 40;
    /** One reservation entry: u64 address, u64 size. */
    static final int RESERVATION_ENTRY_SIZE = 16;

    static final int FDT_BEGIN_NODE = 1;
    static final int FDT_END_NODE = 2;
    static final int FDT_PROP = 3;
    static final int FDT_NOP = 4;
    static final int FDT_END = 9;

    /** Maximum nesting depth of nodes, the root node counting as depth 1 (writer and reader). */
    static final int MAX_DEPTH = 64;

    private FdtFormat() {
    }

    static long align4(long n) {
        return (n + 3) & ~3L;
    }
}
