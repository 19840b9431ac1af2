package dev.mesovirt.arch.x86_64.boot;

/**
 * The fields of a bzImage's setup header ({@code struct setup_header}, at 0x1F1 in the file) that a 64-bit
 * boot loader reads. Unsigned header fields are widened so that no value is negative.
 *
 * @param protocolVersion boot protocol version, {@code (major << 8) | minor}, e.g. {@code 0x020F} for 2.15
 * @param setupSects      number of 512-byte setup sectors after the boot sector, with the legacy 0 already
 *                        replaced by 4
 * @param loadflags       {@code loadflags} as found in the image ({@link BootProtocol#LOADED_HIGH} etc.)
 * @param xloadflags      {@code xloadflags} ({@link BootProtocol#XLF_KERNEL_64} etc.)
 * @param kernelAlignment physical alignment a relocatable kernel wants (a power of two)
 * @param relocatable     {@code relocatable_kernel != 0}
 * @param minAlignment    {@code min_alignment}, minimum alignment as a power of two (0 if not given)
 * @param initrdAddrMax   highest address the initrd may occupy, i.e. the address of its last byte
 * @param cmdlineSize     maximum command line length in bytes, excluding the terminating NUL
 * @param prefAddress     preferred load address; the kernel never runs below it (see {@link KernelPlacement})
 * @param initSize        bytes of contiguous memory from the kernel's runtime start it needs to boot
 * @param payloadOffset   offset of the compressed payload from the start of the protected-mode code
 * @param payloadLength   length of the compressed payload
 * @param syssize         size of the protected-mode code in 16-byte paragraphs
 * @param kernelVersion   the kernel's version string (e.g. "6.1.0-28-cloud-amd64 (debian-kernel@...) #1 SMP
 *                        ..."), or "" if the image has none
 */
public record SetupHeader(
        int protocolVersion,
        int setupSects,
        int loadflags,
        int xloadflags,
        long kernelAlignment,
        boolean relocatable,
        int minAlignment,
        long initrdAddrMax,
        long cmdlineSize,
        long prefAddress,
        long initSize,
        long payloadOffset,
        long payloadLength,
        long syssize,
        String kernelVersion) {

    public SetupHeader {
        if (kernelVersion == null) {
            throw new NullPointerException("kernelVersion");
        }
    }

    /** The protocol version as "2.15". */
    public String protocolVersionString() {
        return BootProtocol.versionString(protocolVersion);
    }

    /** Whether every bit of {@code flag} is set in {@link #xloadflags()}. */
    public boolean hasXloadflag(int flag) {
        return (xloadflags & flag) == flag;
    }

    /** {@link BootProtocol#XLF_CAN_BE_LOADED_ABOVE_4G}: initrd and command line may live above 4 GiB. */
    public boolean canBeLoadedAbove4G() {
        return hasXloadflag(BootProtocol.XLF_CAN_BE_LOADED_ABOVE_4G);
    }
}
