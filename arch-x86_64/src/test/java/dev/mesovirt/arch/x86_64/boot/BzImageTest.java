package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BzImageTest {

    private static InvalidKernelException rejects(byte[] image) {
        return assertThrows(InvalidKernelException.class, () -> BzImage.parse(image));
    }

    private static void assertMessageContains(InvalidKernelException e, String expected) {
        assertTrue(e.getMessage().contains(expected), () -> "message \"" + e.getMessage() + "\" lacks \"" + expected + "\"");
    }

    @Test
    void parsesHeaderFields() throws Exception {
        BzImage k = BzImage.parse(SyntheticBzImage.create().build());
        SetupHeader h = k.header();
        assertEquals(0x020F, h.protocolVersion());
        assertEquals("2.15", h.protocolVersionString());
        assertEquals(4, h.setupSects());
        assertEquals(BootProtocol.LOADED_HIGH, h.loadflags());
        assertEquals(BootProtocol.XLF_KERNEL_64 | BootProtocol.XLF_CAN_BE_LOADED_ABOVE_4G, h.xloadflags());
        assertTrue(h.canBeLoadedAbove4G());
        assertEquals(SyntheticBzImage.KERNEL_ALIGNMENT, h.kernelAlignment());
        assertTrue(h.relocatable());
        assertEquals(21, h.minAlignment());
        assertEquals(0x7FFF_FFFFL, h.initrdAddrMax());
        assertEquals(2047, h.cmdlineSize());
        assertEquals(SyntheticBzImage.PREF_ADDRESS, h.prefAddress());
        assertEquals(SyntheticBzImage.INIT_SIZE, h.initSize());
        assertEquals(0x100, h.payloadOffset());
        assertEquals(8192 - 0x200, h.payloadLength());
        assertEquals(8192 / 16, h.syssize());
        assertEquals(SyntheticBzImage.VERSION_STRING, h.kernelVersion());
        assertEquals(5 * 512, k.protectedModeOffset());
        assertEquals(8192, k.protectedModeLength());
        assertEquals(5 * 512 + 8192, k.size());
        assertTrue(k.toString().contains("2.15"));
    }

    @Test
    void setupHeaderIsTheBytesFrom0x1F1ToTheJumpTarget() throws Exception {
        byte[] image = SyntheticBzImage.create().build();
        BzImage k = BzImage.parse(image);
        byte[] header = k.setupHeader();
        assertEquals(0x202 + 0x6A - 0x1F1, header.length);
        assertEquals(BootProtocol.HDR_END_2_15, k.setupHeaderEnd());
        assertArrayEquals(Arrays.copyOfRange(image, 0x1F1, 0x26C), header);
        header[0] = 99; // a copy
        assertEquals(4, k.setupHeader()[0]);
    }

    @Test
    void shorterHeaderOfAnOlderProtocolIsCopiedShorter() throws Exception {
        // A 2.12 kernel: the header ends after handover_offset, at 0x268.
        byte[] image = SyntheticBzImage.create().u16(0x206, 0x020C).u8(0x201, 0x268 - 0x202).build();
        BzImage k = BzImage.parse(image);
        assertEquals(0x268 - 0x1F1, k.setupHeader().length);
        assertEquals("2.12", k.header().protocolVersionString());
    }

    @Test
    void protectedModeCodeIsAReadOnlyViewOfTheRest() throws Exception {
        byte[] image = SyntheticBzImage.create(7, 4096).build();
        BzImage k = BzImage.parse(image);
        assertEquals(8 * 512, k.protectedModeOffset());
        ByteBuffer pm = k.protectedModeCode();
        assertTrue(pm.isReadOnly());
        assertEquals(0, pm.position());
        assertEquals(4096, pm.remaining());
        byte[] copy = new byte[pm.remaining()];
        pm.get(copy);
        assertArrayEquals(Arrays.copyOfRange(image, 8 * 512, image.length), copy);
    }

    @Test
    void setupSectsZeroMeansFour() throws Exception {
        BzImage k = BzImage.parse(SyntheticBzImage.create().u8(0x1F1, 0).build());
        assertEquals(4, k.header().setupSects());
        assertEquals(5 * 512, k.protectedModeOffset());
    }

    @Test
    void rejectsEmptyAndTinyFiles() {
        assertMessageContains(rejects(new byte[0]), "empty");
        assertMessageContains(rejects(new byte[100]), "too short");
    }

    @Test
    void rejectsElfVmlinux() {
        byte[] elf = new byte[4096];
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        assertEquals("ELF vmlinux given: PVH boot is not supported yet; pass the bzImage (vmlinuz)",
                rejects(elf).getMessage());
    }

    @Test
    void rejectsGzipAndOtherCompressedFiles() {
        byte[] gz = new byte[4096];
        gz[0] = 0x1F;
        gz[1] = (byte) 0x8B;
        assertMessageContains(rejects(gz), "gzip");
        byte[] zstd = {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD, 0, 0};
        assertMessageContains(rejects(zstd), "zstd");
        byte[] xz = {(byte) 0xFD, '7', 'z', 'X', 'Z', 0, 0};
        assertMessageContains(rejects(xz), "xz");
        byte[] cpio = "070701000000".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertMessageContains(rejects(cpio), "cpio");
    }

    @Test
    void rejectsKernelsOfOtherArchitectures() {
        byte[] arm64 = new byte[4096];
        arm64[0x38] = 'A';
        arm64[0x39] = 'R';
        arm64[0x3A] = 'M';
        arm64[0x3B] = 0x64;
        assertMessageContains(rejects(arm64), "arm64");
        byte[] riscv = new byte[4096];
        riscv[0x38] = 'R';
        riscv[0x39] = 'S';
        riscv[0x3A] = 'C';
        riscv[0x3B] = 0x05;
        assertMessageContains(rejects(riscv), "riscv64");
    }

    @Test
    void rejectsMissingBootFlag() {
        InvalidKernelException e = rejects(SyntheticBzImage.create().u16(0x1FE, 0x1234).build());
        assertMessageContains(e, "boot flag 0xAA55 at 0x1FE");
        assertMessageContains(e, "0x1234");
    }

    @Test
    void rejectsMissingHdrS() {
        assertMessageContains(rejects(SyntheticBzImage.create().u32(0x202, 0).build()),
                "not a bzImage: missing HdrS magic at 0x202");
    }

    @Test
    void rejectsOldProtocolVersions() {
        assertMessageContains(rejects(SyntheticBzImage.create().u16(0x206, 0x0203).build()),
                "boot protocol 2.03 too old: need 2.12 for the 64-bit entry");
        assertMessageContains(rejects(SyntheticBzImage.create().u16(0x206, 0x020B).build()),
                "boot protocol 2.11 too old");
    }

    @Test
    void rejectsKernelWithout64BitEntry() {
        assertMessageContains(rejects(SyntheticBzImage.create().u16(0x236, 0x0002).build()), "XLF_KERNEL_64");
    }

    @Test
    void rejectsZImage() {
        assertMessageContains(rejects(SyntheticBzImage.create().u8(0x211, 0).build()), "LOADED_HIGH");
    }

    @Test
    void rejectsImpossibleHeaderLength() {
        assertMessageContains(rejects(SyntheticBzImage.create().u8(0x201, 0x10).build()), "jump at 0x200");
        assertMessageContains(rejects(SyntheticBzImage.create().u8(0x201, 0xF0).build()), "jump at 0x200");
        // The longest header that still fits boot_params is accepted.
        assertEquals(0x290 - 0x1F1, assertParses(SyntheticBzImage.create().u8(0x201, 0x8E).build())
                .setupHeader().length);
    }

    @Test
    void rejectsTruncatedImages() {
        byte[] full = SyntheticBzImage.create().build();
        assertMessageContains(rejects(Arrays.copyOf(full, 0x250)), "setup header ends");
        assertMessageContains(rejects(Arrays.copyOf(full, 5 * 512)), "setup_sects=4");
        assertMessageContains(rejects(Arrays.copyOf(full, full.length - 100)), "syssize");
        assertMessageContains(rejects(SyntheticBzImage.create().u8(0x1F1, 200).build()), "truncated");
        assertMessageContains(rejects(SyntheticBzImage.create().u32(0x1F4, 0).u32(0x24C, 9000).build()),
                "payload");
    }

    @Test
    void rejectsNonsenseAlignmentAndSizes() {
        assertMessageContains(rejects(SyntheticBzImage.create().u32(0x230, 0x300000).build()), "kernel_alignment");
        assertMessageContains(rejects(SyntheticBzImage.create().u32(0x230, 0).build()), "kernel_alignment");
        assertMessageContains(rejects(SyntheticBzImage.create().u32(0x260, 0).build()), "init_size");
        assertMessageContains(rejects(SyntheticBzImage.create().u64(0x258, 1L << 40).build()), "pref_address");
        // Alignment is irrelevant for a non-relocatable kernel.
        assertFalse(assertParses(SyntheticBzImage.create().u8(0x234, 0).u32(0x230, 0).build()).header()
                .relocatable());
    }

    @Test
    void badVersionStringPointerGivesEmptyString() {
        assertEquals("", assertParses(SyntheticBzImage.create().u16(0x20E, 0).build()).header().kernelVersion());
        assertEquals("", assertParses(SyntheticBzImage.create().u16(0x20E, 0xFFFF).build()).header()
                .kernelVersion());
        // Points at 0x201: "jHdrS" followed by the non-printable version bytes.
        assertEquals("", assertParses(SyntheticBzImage.create().u16(0x20E, 1).build()).header().kernelVersion());
        // Printable text that runs to the end of the setup area without a NUL.
        SyntheticBzImage unterminated = SyntheticBzImage.create().u16(0x20E, 0x800 - 0x200);
        for (int i = 0x800; i < 5 * 512; i++) {
            unterminated.u8(i, 'A');
        }
        assertEquals("", assertParses(unterminated.build()).header().kernelVersion());
    }

    @Test
    void parsePathReadsTheFileAndNamesItInErrors(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("vmlinuz");
        Files.write(good, SyntheticBzImage.create().build());
        assertEquals(0x020F, BzImage.parse(good).header().protocolVersion());

        Path bad = dir.resolve("vmlinux");
        Files.write(bad, new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
        InvalidKernelException e = assertThrows(InvalidKernelException.class, () -> BzImage.parse(bad));
        assertTrue(e.getMessage().startsWith(bad.toString() + ": ELF vmlinux given"), e.getMessage());

        assertThrows(IOException.class, () -> BzImage.parse(dir.resolve("missing")));
    }

    static BzImage assertParses(byte[] image) {
        try {
            return BzImage.parse(image);
        } catch (InvalidKernelException e) {
            throw new AssertionError("unexpected rejection: " + e.getMessage(), e);
        }
    }
}
