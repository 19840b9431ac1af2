package dev.mesovirt.arch.riscv64;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;

/** The riscv64 Image header of the user's -kernel file: parsed or rejected with a message, never anything else. */
class RiscvImageHeaderFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void parse(FuzzedDataProvider data) {
        long fileSize = data.consumeBoolean() ? data.consumeLong() : data.consumeLong(0, 1L << 30);
        byte[] head = data.consumeRemainingAsBytes();
        try {
            ImageHeader h = RiscvImageHeader.parse(head, fileSize);
            assertTrue(h != null);
        } catch (InvalidImageException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        }
    }
}
