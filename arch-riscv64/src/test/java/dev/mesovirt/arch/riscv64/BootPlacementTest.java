package dev.mesovirt.arch.riscv64;

import static dev.mesovirt.arch.riscv64.Fixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.boot.BootPlacement;
import dev.mesovirt.vmm.boot.ImageHeader;
import org.junit.jupiter.api.Test;

class BootPlacementTest {
    private static final long RAM = Riscv64Architecture.RAM_BASE;
    private static final ImageHeader DEBIAN = new ImageHeader(2 * MIB, 0x1e6b000, 0);

    @Test
    void kernelAtTextOffsetDtbInLastBlockInitrdBelowIt() throws Exception {
        BootPlacement p = compute(RAM, 256 * MIB, DEBIAN, 30_000_000, 5_000_000);
        assertEquals(RAM + 2 * MIB, p.kernelLoad());
        assertEquals(0, p.kernelLoad() % RiscvImageHeader.ALIGNMENT);
        assertEquals(RAM + 2 * MIB + 0x1e6b000, p.kernelEnd()); // image_size (bss included) beyond the file
        assertEquals(RAM + 254 * MIB, p.dtbAddress());
        assertEquals(0, p.initrdAddress() % BootPlacement.PAGE_SIZE);
        assertTrue(p.initrdAddress() + 5_000_000 <= p.dtbAddress());
        assertTrue(p.initrdAddress() >= p.kernelEnd());
    }

    @Test
    void bigMachinesKeepBootDataInTheFirstGigabyte() throws Exception {
        BootPlacement p = compute(RAM, 8192 * MIB, DEBIAN, 1 << 20, 1 << 20);
        assertEquals(RAM + 1022 * MIB, p.dtbAddress());
        assertTrue(p.initrdAddress() < RAM + 1024 * MIB);
    }

    @Test
    void tooLittleMemoryIsAClearError() {
        String m = assertThrows(BootPlacement.PlacementException.class,
                () -> compute(RAM, 32 * MIB, DEBIAN, 30_000_000, 0)).getMessage();
        assertTrue(m.startsWith("too little memory"), m);
        String i = assertThrows(BootPlacement.PlacementException.class,
                () -> compute(RAM, 64 * MIB, DEBIAN, 1 << 20, 40 * MIB)).getMessage();
        assertTrue(i.startsWith("the initrd (40 MiB) does not fit"), i);
    }

    /** The placement with riscv64's rules. */
    private static BootPlacement compute(long ramStart, long ramSize, ImageHeader kernel, long kernelFileSize,
            long initrdSize) throws BootPlacement.PlacementException {
        return BootPlacement.compute(ramStart, ramSize, kernel, kernelFileSize, initrdSize,
                Riscv64Architecture.PLACEMENT);
    }
}
