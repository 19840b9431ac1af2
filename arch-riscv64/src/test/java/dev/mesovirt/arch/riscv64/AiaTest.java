package dev.mesovirt.arch.riscv64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import org.junit.jupiter.api.Test;

class AiaTest {
    @Test
    void hartIndexBits() {
        assertEquals(1, Aia.hartBits(1));
        assertEquals(1, Aia.hartBits(2));
        assertEquals(2, Aia.hartBits(3));
        assertEquals(2, Aia.hartBits(4));
        assertEquals(3, Aia.hartBits(5));
        assertEquals(8, Aia.hartBits(254));
        assertEquals(9, Aia.hartBits(512));
    }

    @Test
    void imsicAddressesAreOnePagePerHartAndAligned() {
        Aia.AiaConfig c = Fixtures.aia(4);
        assertEquals(0x2800_0000L, c.imsicAddress(0));
        assertEquals(0x2800_3000L, c.imsicAddress(3));
        // KVM derives the hart index from the address: the base must be aligned to all the hart bits.
        assertEquals(0, c.imsicBase() % (RiscvKvm.IMSIC_SIZE << Aia.hartBits(Riscv64Architecture.MAX_VCPUS)));
        assertEquals(0, Riscv64Architecture.APLIC_BASE % RiscvKvm.APLIC_ALIGN);
    }

    @Test
    void uartHasSourceOneLevelVirtioTheRestEdge() {
        Aia aia = Aia.forTests(Fixtures.aia(1));
        assertEquals(new Irq(1, 1, 1, true), aia.allocate(IrqUse.SERIAL));
        assertEquals(new Irq(2, 2, 2, false), aia.allocate(IrqUse.VIRTIO));
        for (int i = 1; i < Riscv64Architecture.VIRTIO_MMIO_SLOTS; i++) {
            aia.allocate(IrqUse.VIRTIO);
        }
        String m = assertThrows(IllegalArgumentException.class, () -> aia.allocate(IrqUse.VIRTIO)).getMessage();
        assertTrue(m.contains("no source left"), m);
    }

    @Test
    void modes() {
        assertEquals(AiaMode.EMUL, AiaMode.parse("emul", "x"));
        assertEquals(AiaMode.HWACCEL, AiaMode.parse(" HWACCEL ", "x"));
        assertEquals(AiaMode.AUTO, AiaMode.parse("auto", "x"));
        assertEquals(AiaMode.AUTO, AiaMode.ofKvm(2));
        String m = assertThrows(IllegalArgumentException.class,
                () -> AiaMode.parse("fast", "-Dmesovirt.riscv.aia-mode")).getMessage();
        assertEquals("-Dmesovirt.riscv.aia-mode=fast: the AIA mode must be auto, hwaccel or emul", m);
        String old = System.getProperty(AiaMode.PROPERTY);
        try {
            System.setProperty(AiaMode.PROPERTY, "emul");
            assertEquals(AiaMode.EMUL, AiaMode.configured());
        } finally {
            if (old == null) {
                System.clearProperty(AiaMode.PROPERTY);
            } else {
                System.setProperty(AiaMode.PROPERTY, old);
            }
        }
    }

    @Test
    void isaStrings() {
        HostCpu cpu = Fixtures.cpu();
        assertEquals("rv64imafdc_sstc_zicbom_zicboz_ssaia_zicntr_zicsr_zifencei_zihpm", cpu.isaString());
        assertEquals(java.util.List.of("i", "m", "a", "f", "d", "c", "sstc", "zicbom", "zicboz", "ssaia", "zicntr",
                "zicsr", "zifencei", "zihpm"), cpu.isaExtensions());
        assertThrows(IllegalArgumentException.class, () -> new HostCpu(1, java.util.List.of(), 1, 0, 0, 0));
    }

    /** PCI MSIs go straight to an IMSIC file, after the wired sources' default routes; no device ID. */
    @Test
    void msiRoutesAfterTheWiredSources() {
        Aia aia = Aia.forTests(Fixtures.aia(2));
        assertEquals(true, aia.supportsMsi());
        int sources = Riscv64Architecture.APLIC_SOURCES;
        assertEquals(sources + 1, aia.firstMsiGsi());
        java.util.List<dev.mesovirt.vmm.kvm.GsiRoute> defaults = aia.defaultRoutes();
        assertEquals(sources + 1, defaults.size());
        for (int n = 0; n <= sources; n++) {
            assertEquals(new dev.mesovirt.vmm.kvm.GsiRoute.IrqchipPin(n, 0, n), defaults.get(n));
        }
        assertEquals(new dev.mesovirt.vmm.kvm.GsiRoute.Msi(40, 0x2800_1000L, 7, java.util.OptionalInt.empty()),
                aia.msiRoute(40, 0x2800_1000L, 7, 0x100));
    }

    @Test
    void theStandardMachineIsQemusVirt() {
        Riscv64Architecture arch = Fixtures.arch(2);
        assertEquals(java.util.Map.of("microvm", dev.mesovirt.vmm.arch.MachineType.MICROVM,
                "virt", dev.mesovirt.vmm.arch.MachineType.STANDARD), arch.machineTypes());
        dev.mesovirt.vmm.arch.MemoryLayout l = arch.memoryLayout(dev.mesovirt.vmm.arch.MachineType.STANDARD,
                32L << 30, 2);
        assertEquals(0, l.virtioMmioSlots());
        dev.mesovirt.vmm.arch.PciLayout pci = l.pci().orElseThrow();
        assertEquals(0x3000_0000L, pci.ecamBase());
        assertTrue(pci.ecamBase() >= Riscv64Architecture.IMSIC_BASE
                + Riscv64Architecture.MAX_VCPUS * RiscvKvm.IMSIC_SIZE);
        assertEquals(Riscv64Architecture.RAM_BASE, pci.mmio32().end(), "the 32-bit window ends where RAM starts");
        // RAM ends at 34 GiB: the 64-bit window is the next 16 GiB boundary's.
        assertEquals(new dev.mesovirt.vmm.arch.PciLayout.Window(48L << 30, 16L << 30), pci.mmio64().orElseThrow());
        assertEquals(java.util.Optional.empty(), pci.io());
        assertEquals(new dev.mesovirt.vmm.arch.PciLayout.HostBridgeId(0x1b36, 0x0008), pci.hostBridge(),
                "QEMU virt's host bridge IDs (Red Hat's PCIe host bridge), not q35's MCH");
    }
}
