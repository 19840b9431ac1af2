package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.boot.ImageFormat;
import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * What the 64-byte header of a RISC-V Linux {@code Image} (Documentation/arch/riscv/boot-image-header.rst) says
 * beyond the fields arm64 shares ({@link ImageHeader}):
 *
 * <pre>
 *  0  u32 code0          executable code (an EFI stub kernel puts "MZ" here)
 *  4  u32 code1
 *  8  u64 text_offset    image load offset from the start of RAM (2 MiB on riscv64), little endian
 * 16  u64 image_size     effective image size (text, data and bss), little endian
 * 24  u64 flags          bit 0: kernel endianness (0 little)
 * 32  u32 version        header version (0.2: major in bits 16-31)
 * 36  u32 res1
 * 40  u64 res2
 * 48  u64 magic          "RISCV\0\0\0" (deprecated)
 * 56  u32 magic2         0x05435352, "RSC\x05"
 * 60  u32 res3           PE header offset
 * </pre>
 */
public final class RiscvImageHeader {
    public static final int MAGIC2 = 0x0543_5352;
    /** riscv64 kernels run from a 2 MiB aligned address (their linear map uses 2 MiB pages). */
    public static final long ALIGNMENT = ImageHeader.BASE_ALIGNMENT;
    static final int VERSION_OFFSET = 32;

    /** The riscv64 Image: text_offset 2 MiB aligned (2 MiB itself for Debian's kernels), at most 1 GiB. */
    public static final ImageFormat FORMAT = new ImageFormat("riscv64", "a riscv64 Image", MAGIC2, "RSC\\x05",
            List.of(new ImageFormat.OtherMagic(0x644d5241, "it is an arm64 Image")), "vmlinuz/Image.gz",
            "vmlinux from a kernel build tree", "arch/riscv/boot/Image", List.of(
                    new ImageFormat.FieldCheck.TextOffset(ALIGNMENT, 1L << 30,
                            "riscv64 kernels need a 2 MiB aligned offset"),
                    new ImageFormat.FieldCheck.ImageSizeKnown("")));

    private RiscvImageHeader() {}

    /**
     * Parses the header at the start of {@code head} (the file's first bytes).
     *
     * @throws InvalidImageException saying what the file is instead when it is no riscv64 Image
     */
    public static ImageHeader parse(byte[] head, long fileSize) throws InvalidImageException {
        return ImageHeader.parse(head, fileSize, FORMAT);
    }

    /** The header version of a parsed header's bytes (informational: no version is refused). */
    public static int version(byte[] head) {
        return ByteBuffer.wrap(head, 0, ImageHeader.SIZE).order(ByteOrder.LITTLE_ENDIAN).getInt(VERSION_OFFSET);
    }
}
