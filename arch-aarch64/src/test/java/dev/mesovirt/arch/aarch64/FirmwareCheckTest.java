package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which pflash unit 0 an arm64 CPU can start from address 0. */
class FirmwareCheckTest {
    @Test
    void anA64BranchFirstIsArm64Firmware() {
        // AAVMF_CODE.fd (Debian 12): b 0x1000
        assertEquals(Optional.empty(), Aarch64Architecture.codeHeadMismatch(new byte[] {0x00, 0x04, 0x00, 0x14}));
        // any B imm26, e.g. b .-4 (0x17FFFFFF)
        assertEquals(Optional.empty(), Aarch64Architecture.codeHeadMismatch(new byte[] {-1, -1, -1, 0x17}));
    }

    @Test
    void anX86OvmfImageIsRefused() {
        // OVMF_CODE_4M.fd starts with its volume header's 16-byte zero vector
        assertTrue(Aarch64Architecture.codeHeadMismatch(new byte[16]).orElseThrow()
                .contains("not firmware for aarch64"));
        // BL (100101) is not what a reset vector has, nor is a short file
        assertTrue(Aarch64Architecture.codeHeadMismatch(new byte[] {0x00, 0x04, 0x00, (byte) 0x94}).isPresent());
        assertTrue(Aarch64Architecture.codeHeadMismatch(new byte[] {0x14}).isPresent());
    }
}
