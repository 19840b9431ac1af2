package dev.mesovirt.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The fields of the 64-byte Linux {@code Image} header that arm64 (Documentation/arch/arm64/booting.rst) and riscv64
 * (Documentation/arch/riscv/boot-image-header.rst) share, all little endian:
 *
 * <pre>
 *  0  u32 code0, code1   executable code (an EFI stub kernel puts "MZ" here)
 *  8  u64 text_offset    image load offset above a 2 MiB aligned base
 * 16  u64 image_size     effective image size (text, data and bss)
 * 24  u64 flags          bit 0: big-endian kernel; other bits per architecture
 * 56  u32 magic          per architecture ({@link ImageFormat#magic})
 * 60  u32               PE header offset for EFI stub kernels
 * </pre>
 *
 * @param textOffset bytes from the 2 MiB aligned base to where the Image must be loaded
 * @param imageSize how many bytes from the load address the kernel occupies once running (bss included)
 * @param flags the header's flags word
 */
public record ImageHeader(long textOffset, long imageSize, long flags) {
    public static final int SIZE = 64;
    public static final int MAGIC_OFFSET = 56;
    /** The alignment of the base the kernel is loaded text_offset above (both map their RAM in 2 MiB blocks). */
    public static final long BASE_ALIGNMENT = 2L << 20;
    public static final long FLAG_BIG_ENDIAN = 1;
    /** image_size above this (16 GiB) is a corrupt header, not a kernel. */
    static final long MAX_IMAGE_SIZE = 1L << 34;

    /** The kernel is little-endian, so it can run on the little-endian boot protocol this VMM implements. */
    public boolean littleEndian() {
        return (flags & FLAG_BIG_ENDIAN) == 0;
    }

    /**
     * Parses the header at the start of {@code head} (the file's first bytes, up to 0x400 of them).
     *
     * @param fileSize the whole file's length
     * @throws InvalidImageException saying what the file is instead when it is no Image of {@code format}
     */
    public static ImageHeader parse(byte[] head, long fileSize, ImageFormat format) throws InvalidImageException {
        rejectOtherFormats(head, format);
        int n = head.length;
        if (fileSize < SIZE || n < SIZE) {
            throw new InvalidImageException("is truncated or not a kernel: " + Math.min(fileSize, n)
                    + " bytes, shorter than the " + SIZE + "-byte " + format.isa() + " Image header");
        }
        ByteBuffer b = ByteBuffer.wrap(head, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(MAGIC_OFFSET);
        if (magic != format.magic()) {
            throw new InvalidImageException(String.format("is not %s: no \"%s\" magic at offset %d (found 0x%08x)%s",
                    format.imageName(), format.magicText(), MAGIC_OFFSET, magic, whatItIs(head, magic, format)));
        }
        if (fileSize == SIZE) {
            throw new InvalidImageException("is truncated: it ends right after the 64-byte Image header");
        }
        ImageHeader header = new ImageHeader(b.getLong(8), b.getLong(16), b.getLong(24));
        if (!header.littleEndian()) {
            throw new InvalidImageException("is a big-endian kernel (header flags bit 0); Mesovirt boots "
                    + "little-endian " + format.isa() + " kernels only");
        }
        for (ImageFormat.FieldCheck check : format.fieldChecks()) {
            header.check(check);
        }
        if (header.imageSize() < 0 || header.imageSize() > MAX_IMAGE_SIZE) {
            throw new InvalidImageException(String.format("has an implausible image_size 0x%x", header.imageSize()));
        }
        return header;
    }

    private void check(ImageFormat.FieldCheck check) throws InvalidImageException {
        switch (check) {
            case ImageFormat.FieldCheck.TextOffset t -> {
                if (textOffset < 0 || textOffset % t.alignment() != 0 || textOffset > t.max()) {
                    throw new InvalidImageException(String.format("has an implausible text_offset 0x%x (%s)",
                            textOffset, t.requirement()));
                }
            }
            case ImageFormat.FieldCheck.ImageSizeKnown k -> {
                if (imageSize == 0) {
                    throw new InvalidImageException("has image_size 0" + k.note() + ": its memory footprint is "
                            + "unknown, so it cannot be placed safely");
                }
            }
        }
    }

    /** Files people boot by mistake, recognised by their first bytes. */
    private static void rejectOtherFormats(byte[] head, ImageFormat format) throws InvalidImageException {
        if (startsWith(head, 0x1f, 0x8b)) {
            throw new InvalidImageException("is gzip-compressed (a " + format.gzipName() + "?); " + format.isa()
                    + " kernels boot from the uncompressed Image: decompress it first (gzip -dc FILE > Image)");
        }
        if (startsWith(head, 0x7f, 'E', 'L', 'F')) {
            throw new InvalidImageException("is an ELF file (" + format.elfName() + "?); boot " + format.imagePath()
                    + " instead");
        }
        if (head.length >= 8 && startsWith(head, 'M', 'Z') && head[4] == 'z' && head[5] == 'i' && head[6] == 'm'
                && head[7] == 'g') {
            throw new InvalidImageException("is an EFI zboot compressed kernel (vmlinuz.efi); boot the "
                    + "uncompressed Image instead");
        }
        if (startsWith(head, 0x28, 0xb5, 0x2f, 0xfd)) {
            throw new InvalidImageException("is zstd-compressed; decompress it first (zstd -d)");
        }
        if (startsWith(head, 0xfd, '7', 'z', 'X', 'Z', 0)) {
            throw new InvalidImageException("is xz-compressed; decompress it first (xz -d)");
        }
    }

    /** " (it is ...)" after the magic error, when the file is recognisably something else; else "". */
    private static String whatItIs(byte[] head, int magic, ImageFormat format) {
        for (ImageFormat.OtherMagic other : format.otherMagics()) {
            if (magic == other.magic()) {
                return " (" + other.kernel() + ")";
            }
        }
        if (head.length >= 0x206 && head[0x202] == 'H' && head[0x203] == 'd' && head[0x204] == 'r'
                && head[0x205] == 'S') {
            return " (it looks like an x86 bzImage)";
        }
        return "";
    }

    private static boolean startsWith(byte[] head, int... prefix) {
        if (head.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((head[i] & 0xff) != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
