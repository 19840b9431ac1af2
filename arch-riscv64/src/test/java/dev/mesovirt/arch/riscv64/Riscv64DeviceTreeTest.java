package dev.mesovirt.arch.riscv64;

import static dev.mesovirt.arch.riscv64.Fixtures.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.fdt.FdtNode;
import dev.mesovirt.fdt.testing.Dtc;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.boot.BootPlacement;
import dev.mesovirt.vmm.boot.ImageHeader;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The device tree's content through the project's FDT reader, and dtc's verdict on it. */
class Riscv64DeviceTreeTest {
    static byte[] dtb(int vcpus, int virtio, long initrdSize, String cmdline) throws Exception {
        return dtb(vcpus, virtio, initrdSize, cmdline, Fixtures.cpu());
    }

    static byte[] dtb(int vcpus, int virtio, long initrdSize, String cmdline, HostCpu cpu) throws Exception {
        Riscv64Architecture arch = Fixtures.arch(vcpus);
        MemoryLayout layout = arch.memoryLayout(MachineType.MICROVM, 256 * MIB, vcpus);
        BootRequest request = new BootRequest(Path.of("Image"), Optional.empty(), cmdline, vcpus,
                Fixtures.devices(layout, virtio));
        BootPlacement placement = BootPlacement.compute(layout.ram().get(0).guestAddress(), layout.ram().get(0).size(),
                new ImageHeader(2 * MIB, 20 * MIB, 0), 20 * MIB, initrdSize, Riscv64Architecture.PLACEMENT);
        return Riscv64DeviceTree.build(Riscv64Architecture.deviceTreeSpec(layout, request, placement, cpu,
                Fixtures.aia(vcpus), new byte[32]));
    }

    /** The tree of -machine virt: 512 MiB, two harts, the PCI host bridge with INTx sources from the AIA. */
    static byte[] virtDtb() throws Exception {
        Riscv64Architecture arch = Fixtures.arch(2);
        MemoryLayout layout = arch.memoryLayout(MachineType.STANDARD, 512 * MIB, 2);
        Aia aia = Aia.forTests(Fixtures.aia(2));
        MemoryLayout.SerialPlacement sp = layout.serial();
        List<DeviceDescription> devices = List.of(
                new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), aia.allocate(IrqUse.SERIAL)),
                new DeviceDescription.PciHostBridge(layout.pci().orElseThrow(),
                        IntStream.range(0, 4).mapToObj(i -> aia.allocate(IrqUse.PCI_INTX)).toList()));
        BootRequest request = new BootRequest(Path.of("Image"), Optional.empty(), "console=ttyS0", 2, devices);
        BootPlacement placement = BootPlacement.compute(layout.ram().get(0).guestAddress(), layout.ram().get(0).size(),
                new ImageHeader(2 * MIB, 20 * MIB, 0), 20 * MIB, 0, Riscv64Architecture.PLACEMENT);
        return Riscv64DeviceTree.build(Riscv64Architecture.deviceTreeSpec(layout, request, placement, Fixtures.cpu(),
                Fixtures.aia(2), new byte[32]));
    }

    /**
     * -machine virt as QEMU's riscv64 virt describes it: a generic ECAM host bridge whose INTx map swizzles onto four
     * level-triggered APLIC sources and whose MSIs go to the IMSICs; no virtio-mmio slots.
     */
    @Test
    void theStandardMachinesPciHostBridge() throws Exception {
        DeviceTree t = DeviceTree.parse(virtDtb());
        FdtNode pci = t.node("/pcie@30000000");
        assertEquals("pci-host-ecam-generic", pci.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0x3000_0000L, 0x0100_0000L}, pci.property("reg").orElseThrow().asU64Array());
        assertArrayEquals(new int[] {0, 15}, pci.property("bus-range").orElseThrow().asU32Array());
        // 32-bit memory at 1 GiB; 64-bit memory 16 GiB at 16 GiB (above RAM, aligned to its size).
        assertArrayEquals(new int[] {
            0x0200_0000, 0, 0x4000_0000, 0, 0x4000_0000, 0, 0x4000_0000,
            0x0300_0000, 4, 0, 4, 0, 4, 0}, pci.property("ranges").orElseThrow().asU32Array());
        int aplic = t.node("/aplic@c000000").property("phandle").orElseThrow().asU32();
        int imsics = t.node("/imsics@28000000").property("phandle").orElseThrow().asU32();
        int[] map = pci.property("interrupt-map").orElseThrow().asU32Array();
        assertEquals(16 * 7, map.length);
        // The UART has source 1, the bridge 2..5 (INTA..INTD of device 0).
        for (int device = 0; device < 4; device++) {
            for (int pin = 0; pin < 4; pin++) {
                int at = (device * 4 + pin) * 7;
                assertArrayEquals(new int[] {device << 11, 0, 0, pin + 1, aplic, 2 + (device + pin) % 4, 4},
                        java.util.Arrays.copyOfRange(map, at, at + 7), "device " + device + " pin " + pin);
            }
        }
        assertEquals(imsics, pci.property("msi-parent").orElseThrow().asU32());
        assertTrue(t.root().children().stream().noneMatch(n -> n.name().startsWith("virtio_mmio")));
        Dtc.Result r = Dtc.decompile(virtDtb());
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("", r.stderr(), "dtc warnings:\n" + r.stderr() + "\n" + r.text());
    }

    @Test
    void describesHartsAiaUartVirtioAndChosen() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(2, 2, 4 * MIB, "console=ttyS0"));
        FdtNode cpus = t.node("/cpus");
        assertEquals(10_000_000, cpus.property("timebase-frequency").orElseThrow().asU32());
        FdtNode cpu1 = t.node("/cpus/cpu@1");
        assertEquals(1, cpu1.property("reg").orElseThrow().asU32());
        assertEquals("rv64imafdc_sstc_zicbom_zicboz_ssaia_zicntr_zicsr_zifencei_zihpm",
                cpu1.property("riscv,isa").orElseThrow().asString());
        assertEquals("rv64i", cpu1.property("riscv,isa-base").orElseThrow().asString());
        assertTrue(cpu1.property("riscv,isa-extensions").orElseThrow().asStringList().containsAll(
                List.of("i", "m", "a", "f", "d", "c", "ssaia", "sstc")));
        assertEquals("riscv,sv48", cpu1.property("mmu-type").orElseThrow().asString());
        assertEquals(64, cpu1.property("riscv,cbom-block-size").orElseThrow().asU32());
        FdtNode intc1 = t.node("/cpus/cpu@1/interrupt-controller");
        assertEquals("riscv,cpu-intc", intc1.property("compatible").orElseThrow().asString());
        assertEquals(1, intc1.property("#interrupt-cells").orElseThrow().asU32());
        int intc0Phandle = t.node("/cpus/cpu@0/interrupt-controller").property("phandle").orElseThrow().asU32();
        int intc1Phandle = intc1.property("phandle").orElseThrow().asU32();

        FdtNode mem = t.node("/memory@80000000");
        assertArrayEquals(new long[] {0x8000_0000L, 256 * MIB}, mem.property("reg").orElseThrow().asU64Array());

        FdtNode imsics = t.node("/imsics@28000000");
        assertEquals("riscv,imsics", imsics.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0x2800_0000L, 0x2000}, imsics.property("reg").orElseThrow().asU64Array());
        assertArrayEquals(new int[] {intc0Phandle, 9, intc1Phandle, 9},
                imsics.property("interrupts-extended").orElseThrow().asU32Array());
        assertEquals(255, imsics.property("riscv,num-ids").orElseThrow().asU32());
        assertEquals(0, imsics.property("#msi-cells").orElseThrow().asU32());
        assertEquals(0, imsics.property("#interrupt-cells").orElseThrow().asU32());
        assertTrue(imsics.property("msi-controller").isPresent());
        assertTrue(imsics.property("interrupt-controller").isPresent());
        assertEquals(1, imsics.property("riscv,hart-index-bits").orElseThrow().asU32());
        int imsicPhandle = imsics.property("phandle").orElseThrow().asU32();

        FdtNode aplic = t.node("/aplic@c000000");
        assertEquals("riscv,aplic", aplic.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0x0c00_0000L, 0x4000}, aplic.property("reg").orElseThrow().asU64Array());
        assertEquals(imsicPhandle, aplic.property("msi-parent").orElseThrow().asU32());
        assertEquals(33, aplic.property("riscv,num-sources").orElseThrow().asU32());
        assertEquals(2, aplic.property("#interrupt-cells").orElseThrow().asU32());
        int aplicPhandle = aplic.property("phandle").orElseThrow().asU32();

        FdtNode uart = t.node("/serial@10000000");
        assertEquals("ns16550a", uart.property("compatible").orElseThrow().asString());
        assertEquals(aplicPhandle, uart.property("interrupt-parent").orElseThrow().asU32());
        assertArrayEquals(new int[] {1, 4}, uart.property("interrupts").orElseThrow().asU32Array());

        FdtNode v1 = t.node("/virtio_mmio@10010200");
        assertEquals("virtio,mmio", v1.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0x1001_0200L, 0x200}, v1.property("reg").orElseThrow().asU64Array());
        assertArrayEquals(new int[] {3, 1}, v1.property("interrupts").orElseThrow().asU32Array());

        FdtNode chosen = t.node("/chosen");
        assertEquals("console=ttyS0", chosen.property("bootargs").orElseThrow().asString());
        assertEquals("/serial@10000000", chosen.property("stdout-path").orElseThrow().asString());
        long start = chosen.property("linux,initrd-start").orElseThrow().asU64();
        assertEquals(4 * MIB, chosen.property("linux,initrd-end").orElseThrow().asU64() - start);
        assertEquals(0, t.bootCpuId());
    }

    @Test
    void oneHartNoInitrd() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 0, 0, ""));
        assertTrue(t.find("/cpus/cpu@1").isEmpty());
        assertTrue(t.node("/chosen").property("linux,initrd-start").isEmpty());
        assertTrue(t.find("/virtio_mmio@10010000").isEmpty());
    }

    @Test
    void theLargestTreeIsFarBelowTheTwoMiBLinuxMaps() throws Exception {
        // 512 harts with every extension KVM names, 32 slots, the longest command line: loadGuest's "the device
        // tree is N bytes" error cannot happen.
        HostCpu every = new HostCpu(Fixtures.cpu().isaBitmap(), RiscvKvm.ISA_EXTENSIONS, 10_000_000L, 64, 64, 10);
        int size = dtb(Riscv64Architecture.MAX_VCPUS, 32, MIB, "x".repeat(1023), every).length;
        assertTrue(size < BootPlacement.DTB_MAX_SIZE / 2, size + " bytes");
    }

    // dtc: the reference compiler must decompile our trees without a single warning.
    @Test
    void dtcDecompilesWithoutWarnings() throws Exception {
        for (byte[] blob : List.of(dtb(1, 0, 0, ""), dtb(2, 2, 4 * MIB, "console=ttyS0"), dtb(8, 32, MIB, "x"))) {
            Dtc.Result r = Dtc.decompile(blob);
            assertEquals(0, r.exitCode(), "dtc failed: " + r.stderr());
            assertEquals("", r.stderr(), "dtc warnings:\n" + r.stderr() + "\n" + r.text());
        }
    }

    @Test
    void dtcSeesTheExpectedSource() throws Exception {
        String dts = Dtc.decompile(dtb(2, 1, 0, "console=ttyS0")).text();
        assertTrue(dts.contains("compatible = \"riscv,imsics\";"), dts);
        assertTrue(dts.contains("#msi-cells = <0x00>;"), dts);
        assertTrue(dts.contains("riscv,isa-base = \"rv64i\";"), dts);
        assertTrue(dts.contains("compatible = \"riscv,cpu-intc\";"), dts);
        assertTrue(dts.contains("interrupts = <0x01 0x04>;"), dts);
    }
}
