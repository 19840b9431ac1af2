package dev.mesovirt.arch.riscv64;

/**
 * Where the kernel, the initrd and the device tree go in guest RAM (Documentation/arch/riscv/boot.rst, and as
 * kvmtool does it):
 *
 * <ul>
 *   <li>the Image at {@code text_offset} above the start of RAM (2 MiB for Debian's kernels; no firmware needs the
 *       first 2 MiB here, so Linux gets them back as ordinary memory), occupying {@code image_size} bytes;
 *   <li>the device tree 8-byte aligned, at most 2 MiB, alone in the last whole 2 MiB block of the "boot window"
 *       (the first {@value #BOOT_WINDOW_MIB} MiB of RAM, or all of it when smaller), so that the early boot's 2 MiB
 *       fixmap of it covers nothing else;
 *   <li>the initrd page aligned, as high as possible below the device tree.
 * </ul>
 */
public record BootPlacement(long kernelLoad, long kernelEnd, long initrdAddress, long initrdSize, long dtbAddress) {
    public static final long MIB = 1L << 20;
    public static final long DTB_MAX_SIZE = 2 * MIB;
    public static final long PAGE_SIZE = 4096;
    static final int BOOT_WINDOW_MIB = 1024;

    public static BootPlacement compute(long ramStart, long ramSize, RiscvImageHeader kernel, long kernelFileSize,
            long initrdSize) throws PlacementException {
        if (ramStart % RiscvImageHeader.ALIGNMENT != 0) {
            throw new IllegalArgumentException("RAM must start 2 MiB aligned: 0x" + Long.toHexString(ramStart));
        }
        if (initrdSize < 0) {
            throw new IllegalArgumentException("negative initrd size");
        }
        long kernelLoad = ramStart + kernel.textOffset();
        long kernelEnd = kernelLoad + Math.max(kernel.imageSize(), kernelFileSize);
        long top = ramStart + Math.min(ramSize, (long) BOOT_WINDOW_MIB * MIB);
        long dtbAddress = alignDown(top - DTB_MAX_SIZE, RiscvImageHeader.ALIGNMENT);
        if (dtbAddress < kernelEnd) {
            throw new PlacementException(String.format("too little memory: the kernel occupies %s from 0x%x "
                    + "(text_offset + image_size) and the device tree needs a 2 MiB block after it, but the machine "
                    + "has only %s of RAM; give it more memory (-m)", mib(kernelEnd - ramStart), ramStart,
                    mib(ramSize)));
        }
        long initrdAddress = 0;
        if (initrdSize > 0) {
            initrdAddress = alignDown(dtbAddress - initrdSize, PAGE_SIZE);
            if (initrdSize > dtbAddress - kernelEnd || initrdAddress < kernelEnd) {
                throw new PlacementException(String.format("the initrd (%s) does not fit: only %s of RAM lie "
                        + "between the end of the kernel (0x%x) and the device tree (0x%x); give the machine more "
                        + "memory (-m)", mib(initrdSize), mib(Math.max(0, dtbAddress - kernelEnd)), kernelEnd,
                        dtbAddress));
            }
        }
        return new BootPlacement(kernelLoad, kernelEnd, initrdAddress, initrdSize, dtbAddress);
    }

    static long alignDown(long value, long alignment) {
        return value & -alignment;
    }

    static String mib(long bytes) {
        if (bytes % MIB == 0) {
            return (bytes / MIB) + " MiB";
        }
        return String.format("%.1f MiB", bytes / (double) MIB);
    }

    /** The guest does not fit into its RAM. */
    public static final class PlacementException extends Exception {
        public PlacementException(String message) {
            super(message);
        }
    }
}
