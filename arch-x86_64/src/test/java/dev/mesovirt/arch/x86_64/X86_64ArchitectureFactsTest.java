package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What x86_64 tells the neutral machine as data rather than the machine guessing it from the ISA's name. */
class X86_64ArchitectureFactsTest {
    private static final X86_64Architecture ARCH = new X86_64Architecture();

    @Test
    void theUartIsCom1WithThePcsOut2GateOnBothMachines() {
        for (MachineType type : MachineType.values()) {
            MemoryLayout l = ARCH.memoryLayout(type, 256L << 20, 1);
            assertEquals(new MemoryLayout.SerialPlacement(BusKind.PIO, 0x3f8, 0, true), l.serial(), type.toString());
        }
    }

    @Test
    void qmpNames() {
        assertEquals("x86_64", ARCH.name(), "query-target");
        assertEquals("x86", ARCH.qmpCpuArch(), "query-cpus");
        assertEquals(Map.of("microvm", MachineType.MICROVM, "q35", MachineType.STANDARD), ARCH.machineTypes());
    }
}
