package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.arch.PowerButton;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import org.junit.jupiter.api.Test;

class Aarch64ArchitectureTest {
    private static final Aarch64Architecture ARCH = Fixtures.ARCH;

    @Test
    void registeredAsAService() {
        List<Architecture> all = Architectures.available();
        assertTrue(all.stream().anyMatch(a -> a instanceof Aarch64Architecture), all.toString());
    }

    @Test
    void identity() {
        assertEquals("aarch64", ARCH.name());
        assertTrue(ARCH.runsOn("aarch64"));
        assertFalse(ARCH.runsOn("amd64"));
        assertFalse(ARCH.runsOn("riscv64"));
        assertEquals("ttyS0", ARCH.serialConsoleName());
        assertEquals("other", ARCH.qmpCpuArch(), "QEMU's CpuInfoArch has no arm member");
        assertEquals(List.of(KvmCapability.ARM_PSCI_0_2, KvmCapability.DEVICE_CTRL, KvmCapability.ONE_REG),
                ARCH.requiredCapabilities());
    }

    @Test
    void layoutLikeStratoVirtsMicrovm() {
        MemoryLayout l = ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 2);
        assertEquals(List.of(new GuestMemory.Region(0x4000_0000L, 256L << 20)), l.ram());
        assertEquals(new MemoryLayout.SerialPlacement(BusKind.MMIO, 0x0900_0000L, 0, false), l.serial());
        assertEquals(0x0A00_0000L, l.virtioMmioBase());
        assertEquals(0x200, l.virtioMmioSlotSize());
        assertEquals(32, l.virtioMmioSlots());
        assertEquals(0x0A00_3E00L, l.virtioMmioSlot(31));
        assertEquals(0x0800_0000L, Aarch64Architecture.GICD_BASE);
        assertEquals(0x080A_0000L, Aarch64Architecture.GICR_BASE);
    }

    /** -machine virt: QEMU virt's GIC ITS and PCIe windows, no virtio-mmio slots, and the 40-bit IPA it needs. */
    @Test
    void theStandardMachineIsQemusVirt() {
        assertEquals(java.util.Map.of("microvm", MachineType.MICROVM, "virt", MachineType.STANDARD), ARCH.machineTypes());
        MemoryLayout l = ARCH.memoryLayout(MachineType.STANDARD, 512L << 20, 2);
        assertEquals(List.of(new GuestMemory.Region(0x4000_0000L, 512L << 20)), l.ram());
        assertEquals(0, l.virtioMmioSlots());
        dev.mesovirt.vmm.arch.PciLayout pci = l.pci().orElseThrow();
        assertEquals(0x3f00_0000L, pci.ecamBase());
        assertEquals(16, pci.buses());
        assertEquals(0x4000_0000L, pci.ecamBase() + pci.ecamSize(), "ECAM ends where RAM starts");
        assertEquals(java.util.Optional.empty(), pci.io());
        assertEquals(new dev.mesovirt.vmm.arch.PciLayout.Window(0x1000_0000L, 0x2eff_0000L), pci.mmio32());
        assertEquals(new dev.mesovirt.vmm.arch.PciLayout.Window(0x80_0000_0000L, 0x80_0000_0000L),
                pci.mmio64().orElseThrow());
        assertEquals(false, pci.legacyConfigPorts());
        assertEquals(new dev.mesovirt.vmm.arch.PciLayout.HostBridgeId(0x1b36, 0x0008), pci.hostBridge(),
                "QEMU virt's host bridge IDs (Red Hat's PCIe host bridge), not q35's MCH");
        assertTrue(Aarch64Architecture.VIRTIO_MMIO_BASE + 32 * 0x200 <= pci.mmio32().base());
        assertEquals(Aarch64Architecture.GICR_BASE, Aarch64Architecture.GIC_ITS_BASE + Arm64Kvm.VGIC_V3_ITS_SIZE);
        assertTrue(Aarch64Architecture.GICD_BASE + Arm64Kvm.VGIC_V3_DIST_SIZE <= Aarch64Architecture.GIC_ITS_BASE);
        // The 64-bit window ends at 1 TiB: KVM's default 40-bit IPA space holds it.
        assertEquals(1L << 40, Aarch64Architecture.addressEnd(l));
        assertEquals(0, Aarch64Architecture.ipaVmType(Aarch64Architecture.addressEnd(l), 40));
        assertEquals(0x4000_0000L + (256L << 20),
                Aarch64Architecture.addressEnd(ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 1)));
        String tooBig = assertThrows(IllegalArgumentException.class,
                () -> ARCH.memoryLayout(MachineType.STANDARD, 0x80_0000_0000L, 1)).getMessage();
        assertTrue(tooBig.contains("reaches the virt machine's 64-bit PCI window"), tooBig);
    }

    @Test
    void mmioRegionsDoNotOverlap() {
        long gicrEnd = Aarch64Architecture.GICR_BASE + Aarch64Architecture.MAX_VCPUS * Arm64Kvm.VGIC_V3_REDIST_SIZE;
        assertTrue(Aarch64Architecture.GICD_BASE + Arm64Kvm.VGIC_V3_DIST_SIZE <= Aarch64Architecture.GICR_BASE);
        assertTrue(gicrEnd <= Aarch64Architecture.UART_BASE);
        assertTrue(Aarch64Architecture.UART_BASE + 8 <= Aarch64Architecture.GPIO_BASE);
        assertTrue(Aarch64Architecture.GPIO_BASE + Pl061.SIZE <= Aarch64Architecture.VIRTIO_MMIO_BASE);
        assertEquals(0, Aarch64Architecture.GPIO_BASE % 0x1000);
        assertTrue(Aarch64Architecture.VIRTIO_MMIO_BASE + 32 * 0x200 <= Aarch64Architecture.RAM_BASE);
        assertEquals(0, Aarch64Architecture.GICD_BASE % 0x10000);
        assertEquals(0, Aarch64Architecture.GICR_BASE % 0x10000);
        assertEquals(123, Aarch64Architecture.MAX_VCPUS);
    }

    @Test
    void layoutLimits() {
        ARCH.memoryLayout(MachineType.MICROVM, 16L << 20, 123);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 124))
                .getMessage().contains("1..123"));
        assertThrows(IllegalArgumentException.class, () -> ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 0));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ARCH.memoryLayout(MachineType.MICROVM, 8L << 20, 1))
                .getMessage().contains("too little memory"));
        assertThrows(IllegalArgumentException.class, () -> ARCH.memoryLayout(MachineType.MICROVM, 1L << 52, 1));
    }

    @Test
    void ipaSize() {
        long gib = 1L << 30;
        // Fits KVM's default 40 bits: type 0, whatever the host offers.
        assertEquals(0, Aarch64Architecture.ipaVmType(0x4000_0000L + 256L * (1 << 20), 48));
        assertEquals(0, Aarch64Architecture.ipaVmType(0x4000_0000L + 256L * (1 << 20), 0));
        assertEquals(0, Aarch64Architecture.ipaVmType(1L << 40, 40));
        // Beyond 1 TiB: ask for the bits RAM needs, if the host has them.
        assertEquals(41, Aarch64Architecture.ipaVmType((1L << 40) + gib, 48));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Aarch64Architecture.ipaVmType((1L << 40) + gib, 40)).getMessage().contains("at most 40 bits"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Aarch64Architecture.ipaVmType((1L << 40) + gib, 0)).getMessage().contains("KVM_CAP_ARM_VM_IPA_SIZE"));
        // A host that cannot do 40 bits: ask for what it has (avoids KVM's "upgrade your VMM" fallback).
        assertEquals(36, Aarch64Architecture.ipaVmType(0x4000_0000L + gib, 36));
        assertEquals(32, Aarch64Architecture.ipaVmType(0x4000_0000L + gib, 32));
        assertThrows(IllegalArgumentException.class, () -> Aarch64Architecture.ipaVmType(0x4000_0000L + 4 * gib, 32));
    }

    @Test
    void thePowerButtonIsTheOnePlatformDevice() {
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        List<PlatformDevice> devices = ARCH.platformDevices(null, ARCH.memoryLayout(MachineType.MICROVM, 64L << 20, 1), gic, null);
        assertEquals(1, devices.size());
        PlatformDevice d = devices.get(0);
        assertEquals("pl061", d.name());
        assertEquals(BusKind.MMIO, d.bus());
        assertEquals(0x0903_0000L, d.base());
        assertEquals(0x1000, d.length());
        PowerButton button = assertInstanceOf(PowerButton.class, d.device());
        assertEquals(Gicv3.spi(Gicv3.POWER_BUTTON_SPI, true), button.irq());
        // The device answers at its window: the PrimeCell ID the AMBA bus matches the driver with.
        byte[] id = new byte[4];
        d.device().read(0xFE0, id);
        assertEquals(0x61, id[0]);
    }

    @Test
    void theStandardMachineAddsThePl031() {
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        List<PlatformDevice> devices = ARCH.platformDevices(null, ARCH.memoryLayout(MachineType.STANDARD, 512L << 20, 1),
                gic, null);
        assertEquals(List.of("pl061", "pl031"), devices.stream().map(PlatformDevice::name).toList());
        PlatformDevice rtc = devices.get(1);
        assertEquals(BusKind.MMIO, rtc.bus());
        assertEquals(0x0901_0000L, rtc.base());
        assertEquals(0x1000, rtc.length());
        Pl031 pl031 = assertInstanceOf(Pl031.class, rtc.device());
        assertEquals(Gicv3.spi(Gicv3.RTC_SPI, true), pl031.irq());
        byte[] id = new byte[4];
        rtc.device().read(0xFE0, id);
        assertEquals(0x31, id[0]);
    }
}
