package dev.mesovirt.arch.riscv64;

import static dev.mesovirt.arch.riscv64.Fixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;
import dev.mesovirt.vmm.testing.HeaderFuzz;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class RiscvImageHeaderTest {
    private static String error(byte[] head) {
        return assertThrows(InvalidImageException.class,
                () -> RiscvImageHeader.parse(head, head.length)).getMessage();
    }

    @Test
    void parsesDebians612Header() throws Exception {
        // The first 64 bytes of Debian trixie's vmlinux-6.12.107+deb13-riscv64 (an EFI-stub Image).
        byte[] head = Fixtures.image(0x200000, 0x1e6b000, 4096);
        ImageHeader h = RiscvImageHeader.parse(head, 30_000_000);
        assertEquals(0x200000, h.textOffset());
        assertEquals(0x1e6b000, h.imageSize());
        assertEquals(0, h.flags());
        assertEquals(2, RiscvImageHeader.version(head));
    }

    @Test
    void rejectsCompressedAndForeignKernels() {
        assertTrue(error(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0}).contains("gzip-compressed"));
        assertTrue(error(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).contains("ELF"));
        assertTrue(error(new byte[] {'M', 'Z', 0, 0, 'z', 'i', 'm', 'g'}).contains("zboot"));
        assertTrue(error(new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 0, 0}).contains("xz-compressed"));
        assertTrue(error(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd}).contains("zstd"));
        assertTrue(error(new byte[10]).contains("truncated or not a kernel"));
        byte[] arm = Fixtures.image(0, 1 << 20, 4096);
        ByteBuffer.wrap(arm).order(ByteOrder.LITTLE_ENDIAN).putInt(56, 0x644d5241);
        assertTrue(error(arm).contains("it is an arm64 Image"), error(arm));
        byte[] zero = new byte[4096];
        assertTrue(error(zero).contains("no \"RSC\\x05\" magic at offset 56"), error(zero));
    }

    @Test
    void rejectsImplausibleFields() {
        assertTrue(error(Fixtures.image(0x1000, 1 << 20, 4096)).contains("text_offset"));
        assertTrue(error(Fixtures.image(0x200000, 0, 4096)).contains("image_size 0"));
        byte[] be = Fixtures.image(0x200000, 1 << 20, 4096);
        be[24] = 1;
        assertTrue(error(be).contains("big-endian"));
        byte[] only = Fixtures.image(0x200000, 1 << 20, ImageHeader.SIZE);
        assertTrue(error(only).contains("ends right after"));
    }

    @Test
    void fuzzedHeadersAreAcceptedOrRejectedByTheFirstRuleTheyBreak() {
        // boot-image-header.rst and Mesovirt's limits: magic2 "RSC\x05"; text_offset a multiple of 2 MiB up to 1 GiB,
        // checked before image_size.
        HeaderFuzz.Rules riscv64 = new HeaderFuzz.Rules(RiscvImageHeader.MAGIC2, 2 * MIB, 1L << 30, false);
        HeaderFuzz.Result r = HeaderFuzz.run(riscv64, RiscvImageHeader::parse, Fixtures.image(0x200000, 1 << 22, 128),
                5, 20_000);
        for (ImageHeader h : r.accepted()) {
            assertEquals(0, h.textOffset() % RiscvImageHeader.ALIGNMENT);
            assertTrue(h.imageSize() > 0);
        }
        // Both paths ran, and every common way to be wrong: the seed is fixed, so these counts are too.
        assertTrue(r.count(HeaderFuzz.ACCEPTED) > 5_000, r.counts().toString());
        for (String rejected : List.of("magic at offset 56", "big-endian", "implausible text_offset",
                "implausible image_size")) {
            assertTrue(r.count(rejected) > 50, rejected + ": " + r.counts());
        }
    }
}
