package dev.mesovirt.arch.aarch64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 64-byte header of an arm64 Linux {@code Image} (Documentation/arch/arm64/booting.rst):
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
 *
 * @param textOffset bytes from the 2 MiB aligned base to where the Image must be loaded
 * @param imageSize how many bytes from the load address the kernel occupies once running (bss included)
 * @param flags the header's flags word
 */
public record ArmImageHeader(long textOffset, long imageSize, long flags) {
    public static final int SIZE = 64;
    public static final int MAGIC = 0x644d5241;
    public static final int MAGIC_OFFSET = 56;
    /** The alignment of the base the kernel is loaded text_offset above. */
    public static final long BASE_ALIGNMENT = 2L << 20;

    public static final long FLAG_BIG_ENDIAN = 1;
    public static final long FLAG_PAGE_SIZE_MASK = 0b110;
    public static final long FLAG_PHYS_PLACEMENT_ANYWHERE = 1 << 3;

    /** The kernel is little-endian, so it can run on the little-endian boot protocol this VMM implements. */
    public boolean littleEndian() {
        return (flags & FLAG_BIG_ENDIAN) == 0;
    }

    /** Page size the kernel was built for in KiB (4, 16, 64), or 0 when the header does not say. */
    public int pageSizeKiB() {
        return switch ((int) ((flags & FLAG_PAGE_SIZE_MASK) >> 1)) {
            case 1 -> 4;
            case 2 -> 16;
            case 3 -> 64;
            default -> 0;
        };
    }

    /** Bit 3: the 2 MiB aligned base may be anywhere in RAM rather than as close as possible to its start. */
    public boolean placeAnywhere() {
        return (flags & FLAG_PHYS_PLACEMENT_ANYWHERE) != 0;
    }

    /**
     * Parses the header at the start of {@code head} (the first bytes of the file, at least {@link #SIZE} of them).
     *
     * @throws InvalidImageException with a message saying what the file is instead when it is no arm64 Image
     */
    public static ArmImageHeader parse(byte[] head, long fileSize) throws InvalidImageException {
        int n = head.length;
        if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            throw new InvalidImageException("is gzip-compressed (a vmlinuz.gz?); arm64 kernels boot from the "
                    + "uncompressed Image: decompress it first (gzip -dc FILE > Image)");
        }
        if (n >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F') {
            throw new InvalidImageException("is an ELF file (vmlinux?); boot arch/arm64/boot/Image instead");
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
                    + " bytes, shorter than the " + SIZE + "-byte arm64 Image header");
        }
        ByteBuffer b = ByteBuffer.wrap(head, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(MAGIC_OFFSET);
        if (magic != MAGIC) {
            String hint = "";
            if (n >= 0x206 && head[0x202] == 'H' && head[0x203] == 'd' && head[0x204] == 'r' && head[0x205] == 'S') {
                hint = " (it looks like an x86 bzImage)";
            }
            throw new InvalidImageException(String.format(
                    "is not an arm64 Image: no \"ARM\\x64\" magic at offset 56 (found 0x%08x)%s", magic, hint));
        }
        if (fileSize == SIZE) {
            throw new InvalidImageException("is truncated: it ends right after the 64-byte Image header");
        }
        long textOffset = b.getLong(8);
        long imageSize = b.getLong(16);
        long flags = b.getLong(24);
        if ((flags & FLAG_BIG_ENDIAN) != 0) {
            throw new InvalidImageException("is a big-endian kernel (header flags bit 0); Mesovirt boots "
                    + "little-endian arm64 kernels only");
        }
        if (imageSize == 0) {
            throw new InvalidImageException("has image_size 0 (a kernel older than Linux 3.17): its memory "
                    + "footprint is unknown, so it cannot be placed safely");
        }
        if (textOffset < 0 || textOffset >= BASE_ALIGNMENT || textOffset % 4096 != 0) {
            throw new InvalidImageException(String.format("has an implausible text_offset 0x%x (must be a page "
                    + "multiple below 2 MiB)", textOffset));
        }
        if (imageSize < 0 || imageSize > (1L << 34)) {
            throw new InvalidImageException(String.format("has an implausible image_size 0x%x", imageSize));
        }
        return new ArmImageHeader(textOffset, imageSize, flags);
    }

    /** The file is not a bootable arm64 Image; the message completes "kernel FILE ...". */
    public static final class InvalidImageException extends Exception {
        public InvalidImageException(String message) {
            super(message);
        }
    }
}
