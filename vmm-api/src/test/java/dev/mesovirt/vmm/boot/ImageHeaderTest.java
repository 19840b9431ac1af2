package dev.mesovirt.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared parser driven by a made-up architecture's format: what comes from the data, what is common. */
class ImageHeaderTest {
    private static final int MAGIC = 0x1234_5678;
    private static final int OTHER = 0x0abc_def0;

    private static ImageFormat format(List<ImageFormat.FieldCheck> checks) {
        return new ImageFormat("toy64", "a toy64 Image", MAGIC, "TOY", List.of(new ImageFormat.OtherMagic(OTHER,
                "it is an other64 Image")), "toy.gz", "vmtoy", "arch/toy/boot/Image", checks);
    }

    private static final ImageFormat SIZE_FIRST = format(List.of(new ImageFormat.FieldCheck.ImageSizeKnown(" (old)"),
            new ImageFormat.FieldCheck.TextOffset(4096, 0x10_0000, "page multiple up to 1 MiB")));
    private static final ImageFormat OFFSET_FIRST = format(List.of(
            new ImageFormat.FieldCheck.TextOffset(4096, 0x10_0000, "page multiple up to 1 MiB"),
            new ImageFormat.FieldCheck.ImageSizeKnown("")));

    private static byte[] image(int magic, long textOffset, long imageSize, long flags) {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(8, textOffset).putLong(16, imageSize).putLong(24, flags).putInt(56, magic);
        return b.array();
    }

    private static String error(byte[] head, ImageFormat format) {
        return assertThrows(InvalidImageException.class, () -> ImageHeader.parse(head, head.length, format))
                .getMessage();
    }

    @Test
    void readsTheCommonFields() throws Exception {
        ImageHeader h = ImageHeader.parse(image(MAGIC, 0x8000, 0x20_0000, 0b1010), 256, SIZE_FIRST);
        assertEquals(new ImageHeader(0x8000, 0x20_0000, 0b1010), h);
        assertTrue(h.littleEndian());
    }

    @Test
    void theFormatsOrderDecidesWhichOfTwoFaultsIsReported() {
        byte[] both = image(MAGIC, 0x123, 0, 0);
        assertEquals("has image_size 0 (old): its memory footprint is unknown, so it cannot be placed safely",
                error(both, SIZE_FIRST));
        assertEquals("has an implausible text_offset 0x123 (page multiple up to 1 MiB)", error(both, OFFSET_FIRST));
        assertTrue(error(image(MAGIC, 0x10_1000, 1, 0), OFFSET_FIRST).contains("text_offset 0x101000"));
        assertTrue(error(image(MAGIC, 0, (1L << 34) + 1, 0), OFFSET_FIRST).contains("implausible image_size"));
    }

    @Test
    void messagesUseTheFormatsWords() {
        assertEquals("is not a toy64 Image: no \"TOY\" magic at offset 56 (found 0x0abcdef0) (it is an other64 Image)",
                error(image(OTHER, 0, 1, 0), SIZE_FIRST));
        assertEquals("is gzip-compressed (a toy.gz?); toy64 kernels boot from the uncompressed Image: decompress it "
                + "first (gzip -dc FILE > Image)", error(new byte[] {0x1f, (byte) 0x8b}, SIZE_FIRST));
        assertEquals("is an ELF file (vmtoy?); boot arch/toy/boot/Image instead",
                error(new byte[] {0x7f, 'E', 'L', 'F'}, SIZE_FIRST));
        assertEquals("is a big-endian kernel (header flags bit 0); Mesovirt boots little-endian toy64 kernels only",
                error(image(MAGIC, 0, 1, 1), SIZE_FIRST));
        assertEquals("is truncated or not a kernel: 3 bytes, shorter than the 64-byte toy64 Image header",
                error(new byte[3], SIZE_FIRST));
    }
}
