package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;
import dev.mesovirt.vmm.testing.HeaderFuzz;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArmImageHeaderTest {
    private static ImageHeader parse(byte[] b) throws InvalidImageException {
        return ArmImageHeader.parse(Arrays.copyOf(b, Math.min(b.length, 0x400)), b.length);
    }

    private static String error(byte[] b) {
        return assertThrows(InvalidImageException.class, () -> parse(b)).getMessage();
    }

    @Test
    void goodImage() throws Exception {
        ImageHeader h = parse(SyntheticImage.image(0, 0x2a5_0000, 0b1010, 4096));
        assertEquals(0, h.textOffset());
        assertEquals(0x2a5_0000, h.imageSize());
        assertTrue(h.littleEndian());
        assertTrue(ArmImageHeader.placeAnywhere(h));
        assertEquals(4, ArmImageHeader.pageSizeKiB(h));
    }

    @Test
    void legacyTextOffsetAndFlags() throws Exception {
        ImageHeader h = parse(SyntheticImage.image(0x80000, 0x100_0000, 0, 4096));
        assertEquals(0x80000, h.textOffset());
        assertFalse(ArmImageHeader.placeAnywhere(h));
        assertEquals(0, ArmImageHeader.pageSizeKiB(h));
        assertEquals(64, ArmImageHeader.pageSizeKiB(parse(SyntheticImage.image(0, 0x100_0000, 0b110, 4096))));
        assertEquals(16, ArmImageHeader.pageSizeKiB(parse(SyntheticImage.image(0, 0x100_0000, 0b100, 4096))));
    }

    @Test
    void badMagic() {
        byte[] b = SyntheticImage.standard();
        b[56] = 'X';
        String m = error(b);
        assertTrue(m.contains("not an arm64 Image") && m.contains("offset 56"), m);
    }

    @Test
    void truncated() {
        String m = error(Arrays.copyOf(SyntheticImage.standard(), 40));
        assertTrue(m.contains("truncated") && m.contains("40 bytes"), m);
        String headerOnly = error(Arrays.copyOf(SyntheticImage.standard(), 64));
        assertTrue(headerOnly.contains("truncated"), headerOnly);
        assertTrue(error(new byte[0]).contains("truncated"));
    }

    @Test
    void gzipCompressed() {
        byte[] b = new byte[1000];
        b[0] = 0x1f;
        b[1] = (byte) 0x8b;
        b[2] = 8;
        String m = error(b);
        assertTrue(m.contains("gzip") && m.contains("decompress it first"), m);
    }

    @Test
    void otherCompressionsAndFormats() {
        assertTrue(error(new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 0, 0}).contains("xz"));
        assertTrue(error(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0}).contains("zstd"));
        assertTrue(error(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).contains("ELF"));
        byte[] zboot = new byte[128];
        zboot[0] = 'M';
        zboot[1] = 'Z';
        zboot[4] = 'z';
        zboot[5] = 'i';
        zboot[6] = 'm';
        zboot[7] = 'g';
        assertTrue(error(zboot).contains("zboot"));
        byte[] bz = new byte[0x400];
        bz[0x202] = 'H';
        bz[0x203] = 'd';
        bz[0x204] = 'r';
        bz[0x205] = 'S';
        assertTrue(error(bz).contains("x86 bzImage"));
    }

    @Test
    void bigEndianKernelIsRejected() {
        String m = error(SyntheticImage.image(0, 1 << 20, 0b1011, 4096));
        assertTrue(m.contains("big-endian"), m);
    }

    @Test
    void implausibleFields() {
        assertTrue(error(SyntheticImage.image(0x80000, 0, 0, 4096)).contains("image_size 0"));
        assertTrue(error(SyntheticImage.image(0x200000, 1 << 20, 0, 4096)).contains("text_offset"));
        assertTrue(error(SyntheticImage.image(0x123, 1 << 20, 0, 4096)).contains("text_offset"));
        assertTrue(error(SyntheticImage.image(0, -1, 0, 4096)).contains("image_size"));
    }

    @Test
    void magicIsArmX64InLittleEndian() {
        byte[] b = SyntheticImage.standard();
        assertEquals("ARM\u0064", new String(b, 56, 4, java.nio.charset.StandardCharsets.ISO_8859_1));
        assertEquals(0x644d5241, ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(56));
    }

    @Test
    void fuzzedHeadersAreAcceptedOrRejectedByTheFirstRuleTheyBreak() {
        // booting.rst and Mesovirt's limits: magic "ARM\x64"; image_size 0 (pre-3.17 kernels) reported first;
        // text_offset a page multiple below 2 MiB.
        HeaderFuzz.Rules arm64 = new HeaderFuzz.Rules(ArmImageHeader.MAGIC, 4096, (2 << 20) - 4096, true);
        HeaderFuzz.Result r = HeaderFuzz.run(arm64, ArmImageHeader::parse, SyntheticImage.image(0, 1 << 22, 0xa, 128),
                7, 20_000);
        assertTrue(r.count(HeaderFuzz.ACCEPTED) > 5_000, r.counts().toString());
        for (String rejected : List.of("magic at offset 56", "big-endian", "implausible text_offset",
                "implausible image_size")) {
            assertTrue(r.count(rejected) > 50, rejected + ": " + r.counts());
        }
        // Some accepted headers moved the kernel: text_offset is not just the valid image's 0.
        assertTrue(r.accepted().stream().anyMatch(h -> h.textOffset() != 0), r.counts().toString());
    }
}
