package dev.mesovirt.arch.riscv64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 64-byte header of a RISC-V Linux {@code Image} (Documentation/arch/riscv/boot-image-header.rst):
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
public record RiscvImageHeader(long textOffset, long imageSize, long flags, int version) {
    public static final int SIZE = 64;
    public static final int MAGIC2 = 0x0543_5352;
    public static final int MAGIC2_OFFSET = 56;
    /** riscv64 kernels run from a 2 MiB aligned address (their linear map uses 2 MiB pages). */
    public static final long ALIGNMENT = 2L << 20;

    /**
     * Parses the header at the start of {@code head} (the file's first bytes).
     *
     * @throws InvalidImageException saying what the file is instead when it is no riscv64 Image
     */
    public static RiscvImageHeader parse(byte[] head, long fileSize) throws InvalidImageException {
        int n = head.length;
        if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            throw new InvalidImageException("is gzip-compressed (a vmlinuz/Image.gz?); riscv64 kernels boot from the "
                    + "uncompressed Image: decompress it first (gzip -dc FILE > Image)");
        }
        if (n >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F') {
            throw new InvalidImageException("is an ELF file (vmlinux from a kernel build tree?); boot "
                    + "arch/riscv/boot/Image instead");
        }
        if (n >= 8 && head[0] == 'M' && head[1] == 'Z' && head[4] == 'z' && head[5] == 'i' && head[6] == 'm'
                && head[7] == 'g') {
            throw new InvalidImageException("is an EFI zboot compressed kernel (vmlinuz.efi); boot the "
                    + "uncompressed Image instead");
        }
        if (n >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            throw new InvalidImageException("is zstd-compressed; decompress it first (zstd -d)");
        }
        if (n >= 6 && (head[0] & 0xff) == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X'
                && head[4] == 'Z' && head[5] == 0) {
            throw new InvalidImageException("is xz-compressed; decompress it first (xz -d)");
        }
        if (fileSize < SIZE || n < SIZE) {
            throw new InvalidImageException("is truncated or not a kernel: " + Math.min(fileSize, n)
                    + " bytes, shorter than the " + SIZE + "-byte riscv64 Image header");
        }
        ByteBuffer b = ByteBuffer.wrap(head, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int magic2 = b.getInt(MAGIC2_OFFSET);
        if (magic2 != MAGIC2) {
            String hint = "";
            if (b.getInt(56) == 0x644d5241) {
                hint = " (it is an arm64 Image)";
            } else if (n >= 0x206 && head[0x202] == 'H' && head[0x203] == 'd' && head[0x204] == 'r'
                    && head[0x205] == 'S') {
                hint = " (it looks like an x86 bzImage)";
            }
            throw new InvalidImageException(String.format(
                    "is not a riscv64 Image: no \"RSC\\x05\" magic at offset 56 (found 0x%08x)%s", magic2, hint));
        }
        if (fileSize == SIZE) {
            throw new InvalidImageException("is truncated: it ends right after the 64-byte Image header");
        }
        long textOffset = b.getLong(8);
        long imageSize = b.getLong(16);
        long flags = b.getLong(24);
        int version = b.getInt(32);
        if ((flags & 1) != 0) {
            throw new InvalidImageException("is a big-endian kernel (header flags bit 0); Mesovirt boots "
                    + "little-endian riscv64 kernels only");
        }
        if (textOffset < 0 || textOffset % ALIGNMENT != 0 || textOffset > (1L << 30)) {
            throw new InvalidImageException(String.format("has an implausible text_offset 0x%x (riscv64 kernels "
                    + "need a 2 MiB aligned offset)", textOffset));
        }
        if (imageSize == 0) {
            throw new InvalidImageException("has image_size 0: its memory footprint is unknown, so it cannot be "
                    + "placed safely");
        }
        if (imageSize < 0 || imageSize > (1L << 34)) {
            throw new InvalidImageException(String.format("has an implausible image_size 0x%x", imageSize));
        }
        return new RiscvImageHeader(textOffset, imageSize, flags, version);
    }

    /** The file is not a bootable riscv64 Image; the message completes "kernel FILE ...". */
    public static final class InvalidImageException extends Exception {
        public InvalidImageException(String message) {
            super(message);
        }
    }
}
