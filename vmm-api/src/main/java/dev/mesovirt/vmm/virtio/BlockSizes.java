package dev.mesovirt.vmm.virtio;

/**
 * The sector sizes a virtio-blk device reports to the guest, QEMU's {@code logical_block_size} and
 * {@code physical_block_size} properties (which Kata Containers passes to device_add from its
 * {@code block_device_logical_sector_size} / {@code block_device_physical_sector_size} settings). 0 means "the
 * device's default": 512-byte logical sectors (or what O_DIRECT needs) and no physical size reported.
 *
 * <p>The guest aligns its requests to the logical size; the physical size is a hint for its I/O scheduler and
 * partitioning tools (virtio's topology: the exponent of physical over logical).
 *
 * @param logical  the logical sector size in bytes, or 0
 * @param physical the physical sector size in bytes, or 0
 */
public record BlockSizes(int logical, int physical) {
    /** QEMU's bounds (hw/core/qdev-properties-system.c): 512 bytes to 2 MiB, powers of two. */
    public static final int MIN = 512;
    public static final int MAX = 2 << 20;
    public static final BlockSizes DEFAULT = new BlockSizes(0, 0);

    /** @throws IllegalArgumentException with QEMU's message for a size out of bounds or not a power of two */
    public BlockSizes {
        check("logical_block_size", logical);
        check("physical_block_size", physical);
        if (logical != 0 && physical != 0 && logical > physical) {
            throw new IllegalArgumentException("logical_block_size > physical_block_size not supported");
        }
    }

    private static void check(String name, long value) {
        if (value == 0) {
            return;
        }
        if (value < MIN || value > MAX) {
            throw new IllegalArgumentException("Property " + name + " doesn't take value " + value + " (minimum: "
                    + MIN + ", maximum: " + MAX + ")");
        }
        if ((value & (value - 1)) != 0) {
            throw new IllegalArgumentException("Property " + name + " doesn't take value '" + value
                    + "', it's not a power of 2");
        }
    }
}
