package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class FirmwareCheckTest {
    private final X86_64Architecture arch = new X86_64Architecture();

    private static byte[] tail(int... bytes) {
        byte[] t = new byte[16];
        for (int i = 0; i < bytes.length; i++) {
            t[i] = (byte) bytes[i];
        }
        return t;
    }

    @Test
    void ovmfResetVectorIsX86() {
        // The last 16 bytes of Debian 12's OVMF_CODE_4M.fd: nop, nop, jmp near.
        assertEquals(Optional.empty(), arch.firmwareMismatch(tail(0x90, 0x90, 0xE9, 0x5B, 0xFF, 0x90)));
        assertEquals(Optional.empty(), arch.firmwareMismatch(tail(0xEB, 0x10)));
    }

    @Test
    void otherImagesAreNot() {
        // AAVMF's code ends in erased flash; an arm64 instruction word is no x86 jump either.
        byte[] ones = new byte[16];
        java.util.Arrays.fill(ones, (byte) 0xFF);
        assertTrue(arch.firmwareMismatch(ones).orElseThrow().contains("not firmware for x86_64"));
        assertTrue(arch.firmwareMismatch(tail(0x00, 0x00, 0x00, 0x14)).isPresent());
        assertTrue(arch.firmwareMismatch(tail()).isPresent());
    }

    @Test
    void flashEndsAtFourGib() {
        assertEquals(OptionalLong.of(0xFFC0_0000L), arch.flashBase(4L << 20));
        assertEquals(OptionalLong.empty(), arch.flashBase(9L << 20));
    }

    private static dev.mesovirt.vmm.firmware.FlashImage unit(int unit, long size) {
        return new dev.mesovirt.vmm.firmware.FlashImage(unit, java.nio.file.Path.of("u" + unit), unit == 0, size);
    }

    @Test
    void unitZeroEndsAtFourGibAndUnitOneLiesBelowIt() {
        // Debian 12's OVMF_CODE_4M.fd (3653632 bytes) and OVMF_VARS_4M.fd (540672), as QEMU maps them.
        assertEquals(java.util.List.of(0x1_0000_0000L - 3653632, 0x1_0000_0000L - 3653632 - 540672),
                arch.flashPlacement(java.util.List.of(unit(0, 3653632), unit(1, 540672))));
        assertEquals(dev.mesovirt.vmm.firmware.CfiFlash.Geometry.X86, arch.flashGeometry());
        IllegalArgumentException big = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> arch.flashPlacement(java.util.List.of(unit(0, 64L << 20), unit(1, 64L << 20))));
        assertEquals("the pflash units take 134217728 bytes together, more than the 8 MiB below 4 GiB they may take",
                big.getMessage());
    }

    @Test
    void theFirmwaresConsoleIsTheKernels() {
        for (dev.mesovirt.vmm.arch.MachineType type : java.util.List.of(dev.mesovirt.vmm.arch.MachineType.MICROVM,
                dev.mesovirt.vmm.arch.MachineType.STANDARD)) {
            dev.mesovirt.vmm.arch.MemoryLayout l = arch.memoryLayout(type, 512L << 20, 1);
            assertEquals(l.serial(), arch.firmwareSerial(l));
            assertEquals(dev.mesovirt.vmm.arch.UartModel.NS16550, arch.firmwareSerial(l).model());
        }
    }
}
