package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The firmware devices' fuzz targets outside Jazzer: each hand-written seed reaches what it was written for (DMA
 * transfers and their errors, program, erase, Write to Buffer), so the fuzzer starts from there; and a few hundred
 * random inputs hold the targets' properties in every plain test run.
 */
class FirmwareFuzzSeedsTest {
    private static byte[] seed(String target, String name) throws IOException {
        try (InputStream in = FirmwareFuzzSeedsTest.class.getResourceAsStream(target + "Inputs/guest/" + name)) {
            assertTrue(in != null, "no seed " + name + " of " + target);
            return in.readAllBytes();
        }
    }

    @Test
    void fwCfgSeedsReachDmaAndItsErrors() throws IOException {
        FwCfgFuzzTarget.Stats ovmf = FwCfgFuzzTarget.run(seed("FwCfgFuzzTarget", "ovmf-dma"));
        assertTrue(ovmf.dmaReads() >= 3 && ovmf.dmaSkips() >= 1 && ovmf.dmaErrors() == 0, ovmf::toString);
        assertTrue(ovmf.dataBytes() >= 10 && ovmf.selects() >= 3, ovmf::toString);
        FwCfgFuzzTarget.Stats errors = FwCfgFuzzTarget.run(seed("FwCfgFuzzTarget", "dma-errors"));
        assertTrue(errors.dmaErrors() >= 4, errors::toString);
    }

    @Test
    void flashSeedsReachProgramEraseAndWriteToBuffer() throws IOException {
        CfiFlashFuzzTarget.Stats ovmf = CfiFlashFuzzTarget.run(seed("CfiFlashFuzzTarget", "ovmf-variable-write"));
        assertTrue(ovmf.programs() >= 2 && ovmf.erases() >= 1 && ovmf.refused() >= 2, ovmf::toString);
        assertTrue(ovmf.statusReads() >= 2 && ovmf.queryReads() >= 3, ovmf::toString);
        CfiFlashFuzzTarget.Stats buffered = CfiFlashFuzzTarget.run(seed("CfiFlashFuzzTarget", "write-to-buffer"));
        assertTrue(buffered.bufferedCounts() >= 3, buffered::toString);
    }

    @Test
    void randomInputsHoldTheProperties() {
        Random r = new Random(15_18);
        for (int i = 0; i < 300; i++) {
            byte[] input = new byte[r.nextInt(400)];
            r.nextBytes(input);
            FwCfgFuzzTarget.run(input);
            CfiFlashFuzzTarget.run(input);
        }
    }
}
