package dev.mesovirt.arch.aarch64;

/**
 * Where the kernel, the initrd and the device tree go in guest RAM, following the arm64 boot protocol
 * (Documentation/arch/arm64/booting.rst):
 *
 * <ul>
 *   <li>the kernel Image at {@code text_offset} above a 2 MiB aligned base, here the start of RAM (which also
 *       satisfies kernels without the "place anywhere" flag: the base is as low as RAM allows), occupying
 *       {@code image_size} bytes (or the file's length, if larger);
 *   <li>the device tree 8-byte aligned, at most 2 MiB, alone in the last whole 2 MiB block of RAM, so that the
 *       kernel's cacheable 2 MiB block mapping of it covers nothing else;
 *   <li>the initrd page aligned, as high as possible below the device tree, but inside the 1 GiB aligned,
 *       32 GiB window that also covers the kernel Image.
 * </ul>
 *
 * @param kernelLoad the guest-physical address the Image is copied to, and the entry point
 * @param kernelEnd the end of the kernel's footprint (load address + image_size)
 * @param initrdAddress the initrd's address, 0 without one
 * @param dtbAddress the device tree's address, handed to the kernel in x0
 */
public record BootPlacement(long kernelLoad, long kernelEnd, long initrdAddress, long initrdSize, long dtbAddress) {
    public static final long MIB = 1L << 20;
    /** booting.rst: the device tree "must not exceed 2 megabytes in size". */
    public static final long DTB_MAX_SIZE = 2 * MIB;
    public static final long PAGE_SIZE = 4096;
    /** The initrd and the kernel must share a 1 GiB aligned window of at most 32 GiB. */
    static final long INITRD_WINDOW_ALIGNMENT = 1L << 30;
    static final long INITRD_WINDOW_SIZE = 32L << 30;

    /**
     * @param ramStart the first byte of RAM (2 MiB aligned)
     * @param ramSize bytes of RAM from {@code ramStart}
     * @param kernelFileSize the Image file's length
     * @param initrdSize the initrd's length, 0 without one
     */
    public static BootPlacement compute(long ramStart, long ramSize, ArmImageHeader kernel, long kernelFileSize,
            long initrdSize) throws PlacementException {
        if (ramStart % ArmImageHeader.BASE_ALIGNMENT != 0) {
            throw new IllegalArgumentException("RAM must start 2 MiB aligned: 0x" + Long.toHexString(ramStart));
        }
        long ramEnd = ramStart + ramSize;
        long kernelLoad = ramStart + kernel.textOffset();
        long kernelEnd = kernelLoad + Math.max(kernel.imageSize(), kernelFileSize);
        long dtbAddress = alignDown(ramEnd - DTB_MAX_SIZE, ArmImageHeader.BASE_ALIGNMENT);
        if (dtbAddress < kernelEnd) {
            throw new PlacementException(String.format("too little memory: the kernel occupies %s from 0x%x "
                    + "(its image_size) and the device tree needs a 2 MiB block after it, but the machine has only "
                    + "%s of RAM; give it more memory (-m)", mib(kernelEnd - ramStart), ramStart, mib(ramSize)));
        }
        long initrdAddress = 0;
        if (initrdSize > 0) {
            long window = alignDown(kernelLoad, INITRD_WINDOW_ALIGNMENT) + INITRD_WINDOW_SIZE;
            long top = Math.min(dtbAddress, window);
            initrdAddress = alignDown(top - initrdSize, PAGE_SIZE);
            if (initrdSize > top - kernelEnd || initrdAddress < kernelEnd) {
                throw new PlacementException(String.format("the initrd (%s) does not fit: only %s of RAM lie "
                        + "between the end of the kernel (0x%x) and the device tree (0x%x); give the machine more "
                        + "memory (-m)", mib(initrdSize), mib(Math.max(0, top - kernelEnd)), kernelEnd, dtbAddress));
            }
        } else if (initrdSize < 0) {
            throw new IllegalArgumentException("negative initrd size");
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
