package dev.mesovirt.vmm.boot;

/**
 * Where the kernel, the initrd and the device tree go in guest RAM, as arm64 and riscv64 Linux both want them:
 *
 * <ul>
 *   <li>the kernel Image at {@code text_offset} above a 2 MiB aligned base, here the start of RAM (as low as RAM
 *       allows, which also satisfies arm64 kernels without the "place anywhere" flag), occupying
 *       {@code image_size} bytes or the file's length, if larger;
 *   <li>the device tree 8-byte aligned, at most 2 MiB, alone in the last whole 2 MiB block of RAM or of the
 *       architecture's boot window, so that the kernel's early 2 MiB mapping of it covers nothing else;
 *   <li>the initrd page aligned, as high as possible below the device tree (and inside the architecture's initrd
 *       window, if it has one).
 * </ul>
 *
 * @param kernelLoad the guest-physical address the Image is copied to, and the entry point
 * @param kernelEnd the end of the kernel's footprint (load address + image_size)
 * @param initrdAddress the initrd's address, 0 without one
 * @param dtbAddress the device tree's address, handed to the kernel in a register
 */
public record BootPlacement(long kernelLoad, long kernelEnd, long initrdAddress, long initrdSize, long dtbAddress) {
    public static final long MIB = 1L << 20;
    /** arm64's booting.rst: the device tree "must not exceed 2 megabytes in size"; riscv64 maps 2 MiB of it. */
    public static final long DTB_MAX_SIZE = 2 * MIB;
    public static final long PAGE_SIZE = 4096;

    /**
     * @param ramStart the first byte of RAM (2 MiB aligned)
     * @param ramSize bytes of RAM from {@code ramStart}
     * @param kernelFileSize the Image file's length
     * @param initrdSize the initrd's length, 0 without one
     */
    public static BootPlacement compute(long ramStart, long ramSize, ImageHeader kernel, long kernelFileSize,
            long initrdSize, PlacementRules rules) throws PlacementException {
        if (ramStart % ImageHeader.BASE_ALIGNMENT != 0) {
            throw new IllegalArgumentException("RAM must start 2 MiB aligned: 0x" + Long.toHexString(ramStart));
        }
        if (initrdSize < 0) {
            throw new IllegalArgumentException("negative initrd size");
        }
        long kernelLoad = ramStart + kernel.textOffset();
        long kernelEnd = kernelLoad + Math.max(kernel.imageSize(), kernelFileSize);
        long top = ramStart + Math.min(ramSize, rules.bootWindow());
        long dtbAddress = alignDown(top - DTB_MAX_SIZE, ImageHeader.BASE_ALIGNMENT);
        if (dtbAddress < kernelEnd) {
            throw new PlacementException(String.format("too little memory: the kernel occupies %s from 0x%x (%s) "
                    + "and the device tree needs a 2 MiB block after it, but the machine has only %s of RAM; give it "
                    + "more memory (-m)", mib(kernelEnd - ramStart), ramStart, rules.footprint(), mib(ramSize)));
        }
        long initrdAddress = 0;
        if (initrdSize > 0) {
            long initrdTop = dtbAddress;
            if (rules.initrdWindow().isPresent()) {
                PlacementRules.Window w = rules.initrdWindow().get();
                initrdTop = Math.min(initrdTop, alignDown(kernelLoad, w.alignment()) + w.size());
            }
            initrdAddress = alignDown(initrdTop - initrdSize, PAGE_SIZE);
            if (initrdSize > initrdTop - kernelEnd || initrdAddress < kernelEnd) {
                throw new PlacementException(String.format("the initrd (%s) does not fit: only %s of RAM lie "
                        + "between the end of the kernel (0x%x) and the device tree (0x%x); give the machine more "
                        + "memory (-m)", mib(initrdSize), mib(Math.max(0, initrdTop - kernelEnd)), kernelEnd,
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
