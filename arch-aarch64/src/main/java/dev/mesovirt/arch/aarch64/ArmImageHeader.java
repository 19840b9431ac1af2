package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.boot.ImageFormat;
import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;
import java.util.List;

/**
 * What the 64-byte header of an arm64 Linux {@code Image} (Documentation/arch/arm64/booting.rst) says beyond the
 * fields riscv64 shares ({@link ImageHeader}):
 *
 * <pre>
 *  0  u32 code0          executable code (an EFI stub kernel puts "MZ" here)
 *  4  u32 code1
 *  8  u64 text_offset    image load offset above a 2 MiB aligned base, little endian
 * 16  u64 image_size     effective image size (text, data and bss), little endian
 * 24  u64 flags          bit 0 big-endian kernel, bits 1-2 page size, bit 3 placement anywhere
 * 32  u64 res2, res3, res4
 * 56  u32 magic          0x644d5241, "ARM\x64"
 * 60  u32 res5           PE header offset for EFI stub kernels
 * </pre>
 */
public final class ArmImageHeader {
    public static final int MAGIC = 0x644d5241;
    public static final long FLAG_PAGE_SIZE_MASK = 0b110;
    public static final long FLAG_PHYS_PLACEMENT_ANYWHERE = 1 << 3;

    /**
     * The arm64 Image: text_offset a page multiple below 2 MiB (0x80000 before Linux 3.17, 0 since 5.8); image_size
     * 0 only from kernels before 3.17, whose footprint is unknown.
     */
    public static final ImageFormat FORMAT = new ImageFormat("arm64", "an arm64 Image", MAGIC, "ARM\\x64", List.of(),
            "vmlinuz.gz", "vmlinux", "arch/arm64/boot/Image", List.of(
                    new ImageFormat.FieldCheck.ImageSizeKnown(" (a kernel older than Linux 3.17)"),
                    new ImageFormat.FieldCheck.TextOffset(4096, ImageHeader.BASE_ALIGNMENT - 4096,
                            "must be a page multiple below 2 MiB")));

    private ArmImageHeader() {}

    /**
     * Parses the header at the start of {@code head} (the first bytes of the file, at least 64 of them).
     *
     * @throws InvalidImageException with a message saying what the file is instead when it is no arm64 Image
     */
    public static ImageHeader parse(byte[] head, long fileSize) throws InvalidImageException {
        return ImageHeader.parse(head, fileSize, FORMAT);
    }

    /** Page size the kernel was built for in KiB (4, 16, 64), or 0 when the header does not say. */
    public static int pageSizeKiB(ImageHeader header) {
        return switch ((int) ((header.flags() & FLAG_PAGE_SIZE_MASK) >> 1)) {
            case 1 -> 4;
            case 2 -> 16;
            case 3 -> 64;
            default -> 0;
        };
    }

    /** Bit 3: the 2 MiB aligned base may be anywhere in RAM rather than as close as possible to its start. */
    public static boolean placeAnywhere(ImageHeader header) {
        return (header.flags() & FLAG_PHYS_PLACEMENT_ANYWHERE) != 0;
    }
}
