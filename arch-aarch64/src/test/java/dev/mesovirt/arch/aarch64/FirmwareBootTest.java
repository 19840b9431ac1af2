package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.fdt.FdtNode;
import dev.mesovirt.fdt.testing.Dtc;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.arch.UartModel;
import dev.mesovirt.vmm.firmware.CfiFlash;
import dev.mesovirt.vmm.firmware.FlashImage;
import dev.mesovirt.vmm.firmware.FwCfgMmio;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** How -machine virt starts AAVMF from pflash: the banks, the console, fw_cfg, the tree in RAM and the start. */
class FirmwareBootTest {
    private static final long MIB = 1L << 20;
    private static final Aarch64Architecture ARCH = Fixtures.ARCH;

    private static FlashImage unit(int unit, long size) {
        return new FlashImage(unit, Path.of("unit" + unit + ".fd"), unit == 0, size);
    }

    @Test
    void theBanksAreAtZeroAnd64MiBInTheVirtBoardsGeometry() {
        assertEquals(List.of(0L, 0x0400_0000L), ARCH.flashPlacement(List.of(unit(0, 64 * MIB), unit(1, 64 * MIB))));
        // A smaller image still starts its bank; unit 1 stays at 64 MiB.
        assertEquals(List.of(0L, 0x0400_0000L), ARCH.flashPlacement(List.of(unit(0, 2 * MIB), unit(1, 256 << 10))));
        assertEquals(List.of(0L), ARCH.flashPlacement(List.of(unit(0, 64 * MIB))));
        assertEquals(CfiFlash.Geometry.ARM_VIRT, ARCH.flashGeometry());
        assertEquals(4, ARCH.flashGeometry().bankWidth());
        assertEquals(256 << 10, ARCH.flashGeometry().blockSize());
    }

    @Test
    void unitsThatDoNotFitTheBanksAreRefusedWithAReason() {
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> ARCH.flashPlacement(List.of(unit(0, 64 * MIB + (256 << 10)))));
        assertTrue(big.getMessage().contains("more than the virt machine's 64 MiB flash bank"), big.getMessage());
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> ARCH.flashPlacement(List.of(unit(0, 64 * MIB), unit(1, 540672))));
        assertTrue(odd.getMessage().startsWith("pflash unit 1 (unit1.fd): 540672 bytes is not a whole number of the"
                + " virt machine's 256 KiB flash blocks"), odd.getMessage());
        IllegalArgumentException three = assertThrows(IllegalArgumentException.class,
                () -> ARCH.flashPlacement(List.of(unit(0, MIB), unit(1, MIB), unit(2, MIB))));
        assertTrue(three.getMessage().contains("2 flash banks"), three.getMessage());
    }

    @Test
    void theFirmwaresConsoleIsAPl011OnVirtAndTheMicroVmKeepsIts16550() {
        MemoryLayout virt = ARCH.memoryLayout(MachineType.STANDARD, 512 * MIB, 1);
        assertEquals(new MemoryLayout.SerialPlacement(BusKind.MMIO, 0x0900_0000L, 0, false, UartModel.PL011),
                ARCH.firmwareSerial(virt));
        assertEquals(UartModel.NS16550, virt.serial().model());
        MemoryLayout micro = ARCH.memoryLayout(MachineType.MICROVM, 512 * MIB, 1);
        assertEquals(micro.serial(), ARCH.firmwareSerial(micro));
    }

    @Test
    void fwCfgIsOnMmioAtQemusAddress() {
        MemoryLayout virt = ARCH.memoryLayout(MachineType.STANDARD, 512 * MIB, 2);
        try (GuestMemory memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0x4000_0000L, MIB)))) {
            PlatformDevice d = ARCH.firmwareConfig(virt, 2, memory, List.of(),
                    new dev.mesovirt.vmm.arch.FirmwareHandover(java.util.Optional.empty(), false)).orElseThrow();
            assertEquals(BusKind.MMIO, d.bus());
            assertEquals(0x0902_0000L, d.base());
            assertEquals(FwCfgMmio.LENGTH, d.length());
            FwCfgMmio fw = (FwCfgMmio) d.device();
            // Select NB_CPUS (big-endian selector on this bus) and read its 16-bit value.
            fw.write(8, new byte[] {0x00, 0x05});
            byte[] n = new byte[2];
            fw.read(0, n);
            assertArrayEquals(new byte[] {2, 0}, n);
            // No ACPI tables: EDK2 then gives the guest the device tree.
            assertFalse(fw.core().fileNames().contains("etc/table-loader"));
            // A kernel for the firmware is one clear error, not a kernel silently dropped.
            IllegalArgumentException k = assertThrows(IllegalArgumentException.class, () -> ARCH.firmwareConfig(virt,
                    2, memory, List.of(), new dev.mesovirt.vmm.arch.FirmwareHandover(java.util.Optional.of(
                            new dev.mesovirt.vmm.arch.FirmwareKernel(Path.of("Image"), java.util.Optional.empty(), "")),
                            false)));
            assertTrue(k.getMessage().startsWith("-kernel with pflash"), k.getMessage());
        }
    }

    /**
     * acpi=on: fw_cfg carries the machine's ACPI tables and the table-loader (EDK2 installs them and gives the guest
     * ACPI instead of the tree), whose SPCR and DSDT name the firmware's PL011 (interface type 3, ARMH0011).
     */
    @Test
    void acpiOnHandsTheTablesWithThePl011ToTheFirmware() {
        MemoryLayout virt = ARCH.memoryLayout(MachineType.STANDARD, 512 * MIB, 2);
        List<DeviceDescription> devices = firmwareDevices(virt);
        try (GuestMemory memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0x4000_0000L, MIB)))) {
            FwCfgMmio fw = (FwCfgMmio) ARCH.firmwareConfig(virt, 2, memory, devices,
                    new dev.mesovirt.vmm.arch.FirmwareHandover(java.util.Optional.empty(), true)).orElseThrow().device();
            assertTrue(fw.core().fileNames().containsAll(List.of("etc/acpi/rsdp", "etc/acpi/tables",
                    "etc/table-loader")), fw.core().fileNames().toString());
        }
        dev.mesovirt.acpi.AcpiImage image = Aarch64AcpiTables.build(0,
                Aarch64Architecture.firmwareTreeSpec(virt, 2, devices));
        java.util.Map<String, dev.mesovirt.acpi.testing.ImageReader.Table> tables =
                dev.mesovirt.acpi.testing.ImageReader.tables(image);
        int spcr = tables.get("SPCR").offset();
        assertEquals(Aarch64AcpiTables.SPCR_PL011, image.bytes()[spcr + 36], "SPCR interface type: PL011");
        assertEquals(32, image.bytes()[spcr + 41], "its registers are 32 bits wide");
        byte[] dsdt = dev.mesovirt.acpi.testing.ImageReader.slice(image.bytes(), tables.get("DSDT"));
        assertTrue(new String(dsdt, java.nio.charset.StandardCharsets.ISO_8859_1).contains("ARMH0011"),
                "the DSDT's UART is a PL011");
    }

    /** The virt machine's devices as the machine describes them when pflash units 0 and 1 are given. */
    static List<DeviceDescription> firmwareDevices(MemoryLayout layout) {
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        List<DeviceDescription> d = new ArrayList<>();
        for (PlatformDevice p : ARCH.platformDevices(null, layout, gic, null)) {
            if (p.device() instanceof dev.mesovirt.vmm.arch.PowerButton b) {
                d.add(new DeviceDescription.PowerButton(p.bus(), p.base(), p.length(), b.irq()));
            }
        }
        MemoryLayout.SerialPlacement sp = ARCH.firmwareSerial(layout);
        d.add(new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), gic.allocate(IrqUse.SERIAL),
                sp.model()));
        List<Irq> intx = IntStream.range(0, 4).mapToObj(i -> gic.allocate(IrqUse.PCI_INTX)).toList();
        d.add(new DeviceDescription.PciHostBridge(layout.pci().orElseThrow(), intx));
        d.add(new DeviceDescription.Flash(0, 0, 64 * MIB, 4));
        d.add(new DeviceDescription.Flash(1, 0x0400_0000L, 64 * MIB, 4));
        d.add(new DeviceDescription.FirmwareConfig(BusKind.MMIO, 0x0902_0000L, FwCfgMmio.LENGTH));
        return d;
    }

    private static byte[] firmwareDtb(int vcpus) {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.STANDARD, 512 * MIB, vcpus);
        return Aarch64DeviceTree.build(Aarch64Architecture.firmwareTreeSpec(layout, vcpus, firmwareDevices(layout)));
    }

    @Test
    void theFirmwaresTreeHasThePl011AsConsoleTheBanksFwCfgAndThePciIoWindow() {
        DeviceTree t = DeviceTree.parse(firmwareDtb(2));
        assertEquals("/pl011@9000000", t.node("/chosen").property("stdout-path").orElseThrow().asString());
        assertTrue(t.root().child("uart@9000000").isEmpty(), "no 16550 beside the PL011");
        FdtNode uart = t.node("/pl011@9000000");
        assertEquals(List.of("arm,pl011", "arm,primecell"), uart.property("compatible").orElseThrow().asStringList());
        assertArrayEquals(new long[] {0x0900_0000L, 0x1000}, uart.property("reg").orElseThrow().asU64Array());
        assertArrayEquals(new int[] {0, Gicv3.SERIAL_SPI, 4}, uart.property("interrupts").orElseThrow().asU32Array());
        int clock = t.node("/apb-pclk").property("phandle").orElseThrow().asU32();
        assertArrayEquals(new int[] {clock, clock}, uart.property("clocks").orElseThrow().asU32Array());
        assertEquals(List.of("uartclk", "apb_pclk"), uart.property("clock-names").orElseThrow().asStringList());

        FdtNode flash = t.node("/flash@0");
        assertEquals("cfi-flash", flash.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0, 64 * MIB, 0x0400_0000L, 64 * MIB},
                flash.property("reg").orElseThrow().asU64Array());
        assertEquals(4, flash.property("bank-width").orElseThrow().asU32());

        FdtNode fwCfg = t.node("/fw-cfg@9020000");
        assertEquals("qemu,fw-cfg-mmio", fwCfg.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0x0902_0000L, 0x18}, fwCfg.property("reg").orElseThrow().asU64Array());
        assertTrue(fwCfg.property("dma-coherent").orElseThrow().isEmpty());

        // ranges: the I/O window first (PCI I/O 0 at 0x3eff0000, 64 KiB), then 32- and 64-bit memory.
        int[] ranges = t.node("/pcie@3f000000").property("ranges").orElseThrow().asU32Array();
        assertArrayEquals(new int[] {0x0100_0000, 0, 0, 0, 0x3eff_0000, 0, 0x1_0000}, java.util.Arrays.copyOf(ranges, 7));
        assertEquals(0x0200_0000, ranges[7]);
        assertEquals(3 * 7, ranges.length);

        assertArrayEquals(new long[] {0x4000_0000L, 512 * MIB},
                t.node("/memory@40000000").property("reg").orElseThrow().asU64Array());
        assertEquals(List.of("cpu@0", "cpu@1"), t.node("/cpus").children().stream().map(FdtNode::name).toList());
        assertEquals("", t.node("/chosen").property("bootargs").orElseThrow().asString());
    }

    @Test
    void dtcReadsTheFirmwaresTreeWithoutComplaint() throws Exception {
        Dtc.Result r = Dtc.decompile(firmwareDtb(1));
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("", r.stderr().strip(), "dtc warnings");
        for (String line : List.of("compatible = \"cfi-flash\";", "bank-width = <0x04>;",
                "compatible = \"qemu,fw-cfg-mmio\";", "stdout-path = \"/pl011@9000000\";",
                "ranges = <0x1000000 0x00 0x00 0x00 0x3eff0000 0x00 0x10000")) {
            assertTrue(r.text().contains(line), "missing \"" + line + "\" in:\n" + r.text());
        }
    }

    @Test
    void aKernelsTreeIsUnchanged() throws Exception {
        // The direct-kernel virt machine keeps its 16550 and has no flash, fw_cfg or I/O window.
        DeviceTree t = DeviceTree.parse(Aarch64DeviceTreeTest.virtDtb(1));
        assertEquals("/uart@9000000", t.node("/chosen").property("stdout-path").orElseThrow().asString());
        assertTrue(t.root().child("flash@0").isEmpty());
        assertTrue(t.root().child("fw-cfg@9020000").isEmpty());
        assertEquals(0x0200_0000, t.node("/pcie@3f000000").property("ranges").orElseThrow().asU32Array()[0]);
    }

    @Test
    void vcpu0StartsAtAddressZeroWithTheTreeAtTheStartOfRam() throws Exception {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.STANDARD, 64 * MIB, 2);
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            BootPlan plan = ARCH.firmwareBoot(memory, layout, 2, firmwareDevices(layout));
            assertTrue(plan.firmware());
            assertEquals(0L, plan.entry());
            assertEquals(0x4000_0000L, plan.firmwareAddress());
            byte[] head = memory.read(0x4000_0000L, 8);
            // FDT magic 0xd00dfeed, then its total size, big-endian.
            assertArrayEquals(new byte[] {(byte) 0xd0, 0x0d, (byte) 0xfe, (byte) 0xed}, java.util.Arrays.copyOf(head, 4));
            int size = java.nio.ByteBuffer.wrap(head, 4, 4).getInt();
            assertTrue(size > 0 && size <= Aarch64Architecture.FIRMWARE_DTB_LIMIT, "size " + size);
            DeviceTree t = DeviceTree.parse(memory.read(0x4000_0000L, size));
            assertTrue(t.root().child("flash@0").isPresent());
        }
        // Secondary vCPUs start powered off, for PSCI CPU_ON; vCPU 0 runs.
        assertEquals(0, VcpuSetup.features(0) & (1 << Arm64Kvm.FEATURE_POWER_OFF));
        assertTrue((VcpuSetup.features(1) & (1 << Arm64Kvm.FEATURE_POWER_OFF)) != 0);
    }

    @Test
    void withoutTheDeviceListThereIsNoTreeToHand() {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.STANDARD, 64 * MIB, 1);
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            assertThrows(dev.mesovirt.vmm.arch.BootException.class, () -> ARCH.firmwareBoot(memory, layout, 1));
        }
    }
}
