package dev.mesovirt.arch.x86_64.boot;

import java.util.Objects;

/**
 * Where the protected-mode kernel and the initrd go in guest RAM below the 32-bit hole.
 *
 * <p><b>Kernel.</b> A relocatable kernel is loaded at {@code pref_address} (or 1 MiB if that is 0, and never
 * below 1 MiB) rounded up to {@code kernel_alignment}; a non-relocatable one at {@code pref_address}. Loading
 * lower would not save memory: the decompressor ({@code arch/x86/boot/compressed/head_64.S}) runs the kernel at
 * {@code max(align_up(load, kernel_alignment), LOAD_PHYSICAL_ADDR)} and {@code pref_address} is
 * {@code LOAD_PHYSICAL_ADDR}. From there the kernel needs {@code init_size} bytes of contiguous RAM
 * ({@link #kernelEnd()}); if RAM ends earlier this is the "too little memory" error.
 *
 * <p><b>Initrd.</b> At the highest page-aligned address where it ends at or below both
 * {@code initrd_addr_max + 1} and the end of low RAM and does not overlap the kernel's
 * [load, load + init_size) range; if there is no room above the kernel, below it but above 1 MiB.
 *
 * @param kernelLoadAddress where the protected-mode kernel is loaded ({@code code32_start})
 * @param kernelEnd         end (exclusive) of the kernel's footprint: load address + max(init_size, file part)
 * @param initrdAddress     initrd address, 0 if there is no initrd
 * @param initrdSize        initrd size in bytes, 0 if there is no initrd
 */
public record KernelPlacement(long kernelLoadAddress, long kernelEnd, long initrdAddress, long initrdSize) {

    private static final long PAGE = 0x1000;
    private static final long MIB = 1L << 20;

    /** The 64-bit entry point: load address + 0x200. */
    public long entry64() {
        return kernelLoadAddress + BootProtocol.ENTRY_64_OFFSET;
    }

    /** Places {@code kernel} and an initrd of {@code initrdLength} bytes (0 for none). */
    public static KernelPlacement compute(BzImage kernel, long lowRamEnd, long initrdLength)
            throws KernelPlacementException {
        return compute(kernel.header(), kernel.protectedModeLength(), lowRamEnd, initrdLength);
    }

    /**
     * Places a kernel described by {@code header} whose protected-mode part is {@code protectedModeLength} bytes.
     *
     * @param lowRamEnd    end of the guest RAM that starts at 0 and runs up to the 32-bit hole, e.g.
     *                     {@code min(ramSize, 0xC000_0000)}; above 1 MiB and at most 4 GiB
     * @param initrdLength initrd size in bytes, 0 for none
     * @throws KernelPlacementException if the kernel or the initrd does not fit
     */
    public static KernelPlacement compute(SetupHeader header, long protectedModeLength, long lowRamEnd,
            long initrdLength) throws KernelPlacementException {
        Objects.requireNonNull(header, "header");
        if (lowRamEnd <= LowMemoryMap.HIMEM_START || lowRamEnd > 1L << 32) {
            throw new IllegalArgumentException(String.format(
                    "low RAM end 0x%X must be above 1 MiB and at most 4 GiB", lowRamEnd));
        }
        if (initrdLength < 0 || protectedModeLength < 0) {
            throw new IllegalArgumentException("negative length");
        }

        if (header.prefAddress() < 0 || header.prefAddress() > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(String.format("pref_address 0x%X is above 4 GiB", header.prefAddress()));
        }
        if (header.relocatable() && Long.bitCount(header.kernelAlignment()) != 1) {
            throw new IllegalArgumentException("kernel_alignment is not a power of two: " + header.kernelAlignment());
        }
        long load;
        if (header.relocatable()) {
            long base = Math.max(header.prefAddress() != 0 ? header.prefAddress() : LowMemoryMap.HIMEM_START,
                    LowMemoryMap.HIMEM_START);
            load = alignUp(base, header.kernelAlignment());
        } else {
            load = header.prefAddress() != 0 ? header.prefAddress() : LowMemoryMap.HIMEM_START;
            if (load < LowMemoryMap.HIMEM_START) {
                throw new KernelPlacementException(String.format(
                        "non-relocatable kernel wants to run at 0x%X, below 1 MiB", load));
            }
        }
        long footprint = Math.max(header.initSize(), protectedModeLength);
        if (load >= lowRamEnd || footprint > lowRamEnd - load) {
            long kernelEnd = load > 1L << 40 || footprint > 1L << 40 ? Long.MAX_VALUE : load + footprint;
            throw new KernelPlacementException("kernel needs " + mibUp(kernelEnd) + " of RAM (load address "
                    + mib(load) + " + init_size " + mibUp(footprint) + ") but only " + mib(lowRamEnd)
                    + " of RAM is available below the 32-bit hole");
        }
        long kernelEnd = load + footprint;
        if (initrdLength == 0) {
            return new KernelPlacement(load, kernelEnd, 0, 0);
        }

        long limit = Math.min(header.initrdAddrMax() + 1, lowRamEnd);
        if (initrdLength <= limit) {
            long above = alignDown(limit - initrdLength, PAGE);
            if (above >= kernelEnd) {
                return new KernelPlacement(load, kernelEnd, above, initrdLength);
            }
            long top = Math.min(limit, load);
            if (initrdLength <= top) {
                long below = alignDown(top - initrdLength, PAGE);
                if (below >= LowMemoryMap.HIMEM_START) {
                    return new KernelPlacement(load, kernelEnd, below, initrdLength);
                }
            }
        }
        long needed = initrdLength > 1L << 40 ? Long.MAX_VALUE : alignUp(kernelEnd, PAGE) + initrdLength;
        if (limit == lowRamEnd || needed > lowRamEnd) {
            throw new KernelPlacementException("kernel and initrd need " + mibUp(needed) + " of RAM (kernel up to "
                    + mibUp(kernelEnd) + ", initrd " + mibUp(initrdLength) + ") but only " + mib(lowRamEnd)
                    + " of RAM is available below the 32-bit hole");
        }
        throw new KernelPlacementException(String.format(
                "initrd of %s does not fit below the kernel's initrd_addr_max 0x%X (kernel occupies up to %s)",
                mibUp(initrdLength), header.initrdAddrMax(), mibUp(kernelEnd)));
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    private static long alignDown(long value, long alignment) {
        return value & -alignment;
    }

    /** "64 MiB", or in KiB or bytes when that is not exact. */
    private static String mib(long bytes) {
        if (bytes % MIB == 0) {
            return (bytes / MIB) + " MiB";
        }
        return bytes % 1024 == 0 ? (bytes / 1024) + " KiB" : bytes + " bytes";
    }

    /** Whole MiB rounded up: what someone sizing a VM needs to hear. */
    private static String mibUp(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 1 TiB";
        }
        return ((bytes + MIB - 1) / MIB) + " MiB";
    }
}
