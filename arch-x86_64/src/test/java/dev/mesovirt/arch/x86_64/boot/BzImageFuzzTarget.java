package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * bzImage and its setup header (boot protocol 2.xx) from the user's -kernel file: the image either parses or is
 * rejected with {@link InvalidKernelException} and a message; an image that parses must be placeable (or rejected
 * with {@link KernelPlacementException}) and give a zero page of the right size.
 */
class BzImageFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void parse(byte[] image) {
        BzImage k;
        try {
            k = BzImage.parse(image);
        } catch (InvalidKernelException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            return;
        }
        SetupHeader h = k.header();
        assertTrue(h.protocolVersion() >= BootProtocol.MIN_VERSION);
        assertEquals(k.protectedModeLength(), k.protectedModeCode().remaining());
        for (long lowRamEnd : new long[] {2L << 20, 64L << 20, 3L << 30}) {
            try {
                KernelPlacement p = KernelPlacement.compute(k, lowRamEnd, image.length % 3 == 0 ? 0 : 1L << 24);
                assertTrue(p.kernelEnd() <= lowRamEnd);
                byte[] zeroPage = BootParams.builder(k).placement(p).commandLine(LowMemoryMap.CMDLINE_ADDR)
                        .e820(LowMemoryMap.e820(lowRamEnd, 0)).build();
                assertEquals(BootProtocol.ZERO_PAGE_SIZE, zeroPage.length);
            } catch (KernelPlacementException e) {
                assertTrue(!e.getMessage().isBlank());
            }
        }
    }
}
