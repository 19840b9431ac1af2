package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.boot.BootPlacement;
import dev.mesovirt.vmm.boot.ImageHeader;
import org.junit.jupiter.api.Test;

class BootPlacementTest {
    private static final long MIB = 1L << 20;
    private static final long RAM = Aarch64Architecture.RAM_BASE;
    /** Debian trixie's 6.12 arm64 Image: text_offset 0, image_size about 42 MiB, flags 0xa. */
    private static final ImageHeader DEBIAN = new ImageHeader(0, 0x2a2_0000L, 0xa);

    @Test
    void kernelAtRamStartDtbInLastTwoMiB() throws Exception {
        BootPlacement p = compute(RAM, 256 * MIB, DEBIAN, 35 * MIB, 0);
        assertEquals(0x4000_0000L, p.kernelLoad());
        assertEquals(0x4000_0000L + 0x2a2_0000L, p.kernelEnd());
        assertEquals(0x4fe0_0000L, p.dtbAddress());
        assertEquals(0, p.initrdAddress());
        assertEquals(0, p.initrdSize());
    }

    @Test
    void textOffsetAboveTheTwoMiBBase() throws Exception {
        BootPlacement p = compute(RAM, 64 * MIB, new ImageHeader(0x80000, 8 * MIB, 0), MIB, 0);
        assertEquals(0x4008_0000L, p.kernelLoad());
        assertEquals(0x4008_0000L + 8 * MIB, p.kernelEnd());
    }

    @Test
    void fileLongerThanImageSizeCounts() throws Exception {
        BootPlacement p = compute(RAM, 64 * MIB, new ImageHeader(0, MIB, 0), 3 * MIB, 0);
        assertEquals(RAM + 3 * MIB, p.kernelEnd());
    }

    @Test
    void initrdPageAlignedDirectlyBelowDtb() throws Exception {
        long initrd = 10 * MIB + 123;
        BootPlacement p = compute(RAM, 256 * MIB, DEBIAN, 35 * MIB, initrd);
        assertEquals(0, p.initrdAddress() % 4096);
        assertTrue(p.initrdAddress() + initrd <= p.dtbAddress());
        assertTrue(p.dtbAddress() - (p.initrdAddress() + initrd) < 4096);
        assertTrue(p.initrdAddress() >= p.kernelEnd());
        assertEquals(initrd, p.initrdSize());
    }

    @Test
    void dtbStaysInsideAWholeTwoMiBBlockWhenRamIsNotAMultiple() throws Exception {
        BootPlacement p = compute(RAM, 257 * MIB, DEBIAN, 35 * MIB, 0);
        assertEquals(0, p.dtbAddress() % (2 * MIB));
        assertTrue(p.dtbAddress() + BootPlacement.DTB_MAX_SIZE <= RAM + 257 * MIB);
        assertEquals(0, p.dtbAddress() % 8);
    }

    @Test
    void initrdStaysInTheKernelsThirtyTwoGiBWindow() throws Exception {
        long ram = 64L << 30;
        BootPlacement p = compute(RAM, ram, DEBIAN, 35 * MIB, 100 * MIB);
        long windowEnd = (RAM & -(1L << 30)) + (32L << 30);
        assertTrue(p.initrdAddress() + 100 * MIB <= windowEnd);
        assertTrue(windowEnd - (p.initrdAddress() + 100 * MIB) < 4096);
        assertEquals(RAM + ram - 2 * MIB, p.dtbAddress());
    }

    @Test
    void tooLittleMemoryForTheKernel() {
        String m = assertThrows(BootPlacement.PlacementException.class,
                () -> compute(RAM, 32 * MIB, DEBIAN, 35 * MIB, 0)).getMessage();
        assertTrue(m.contains("too little memory") && m.contains("32 MiB"), m);
    }

    @Test
    void initrdThatDoesNotFit() {
        String m = assertThrows(BootPlacement.PlacementException.class,
                () -> compute(RAM, 64 * MIB, DEBIAN, 35 * MIB, 30 * MIB)).getMessage();
        assertTrue(m.contains("initrd (30 MiB) does not fit"), m);
        // Exactly filling the gap works; one more byte needs another page.
        BootPlacement fits = assertDoesNotThrow(64 * MIB, 62 * MIB - 0x2a2_0000L);
        assertEquals(RAM + 0x2a2_0000L, fits.initrdAddress());
        assertThrows(BootPlacement.PlacementException.class,
                () -> compute(RAM, 64 * MIB, DEBIAN, 35 * MIB, 62 * MIB - 0x2a2_0000L + 1));
    }

    private static BootPlacement assertDoesNotThrow(long ram, long initrd) {
        try {
            return compute(RAM, ram, DEBIAN, 35 * MIB, initrd);
        } catch (BootPlacement.PlacementException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void ramStartMustBeTwoMiBAligned() {
        assertThrows(IllegalArgumentException.class, () -> compute(RAM + 4096, 64 * MIB, DEBIAN, MIB, 0));
    }

    /** The placement with arm64's rules. */
    private static BootPlacement compute(long ramStart, long ramSize, ImageHeader kernel, long kernelFileSize,
            long initrdSize) throws BootPlacement.PlacementException {
        return BootPlacement.compute(ramStart, ramSize, kernel, kernelFileSize, initrdSize, Aarch64Architecture.PLACEMENT);
    }
}
