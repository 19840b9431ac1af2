package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.fdt.FdtNode;
import dev.mesovirt.fdt.testing.Dtc;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.boot.BootPlacement;
import dev.mesovirt.vmm.boot.ImageHeader;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class Aarch64DeviceTreeTest {
    private static final long MIB = 1L << 20;
    private static final ImageHeader KERNEL = new ImageHeader(0, 40 * MIB, 0xa);
    private static final byte[] SEED = new byte[32];

    /** The tree for a machine of {@code vcpus} CPUs, 256 MiB, {@code slots} virtio slots, optional initrd. */
    static byte[] dtb(int vcpus, int slots, long initrdSize, String cmdline) throws Exception {
        return dtb(vcpus, slots, initrdSize, cmdline, false);
    }

    static byte[] dtb(int vcpus, int slots, long initrdSize, String cmdline, boolean powerButton) throws Exception {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.MICROVM, 256 * MIB, vcpus);
        BootRequest request = Fixtures.request(Path.of("Image"),
                initrdSize > 0 ? Optional.of(Path.of("initrd")) : Optional.empty(), cmdline, vcpus,
                Fixtures.devices(layout, slots, powerButton));
        BootPlacement placement = placement(30 * MIB, initrdSize);
        return Aarch64DeviceTree.build(Aarch64Architecture.deviceTreeSpec(layout, request, placement, SEED));
    }

    /** The tree of -machine virt: 512 MiB, {@code vcpus} CPUs, the PCI host bridge, the power button. */
    static byte[] virtDtb(int vcpus) throws Exception {
        return Aarch64DeviceTree.build(virtSpec(vcpus));
    }

    /** What {@link #virtDtb} describes: also what the standard machine's ACPI tables describe. */
    static Aarch64DeviceTree.Spec virtSpec(int vcpus) throws Exception {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.STANDARD, 512 * MIB, vcpus);
        List<DeviceDescription> devices = new java.util.ArrayList<>(Fixtures.devices(layout, 0, true));
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        gic.allocate(dev.mesovirt.vmm.arch.IrqUse.SERIAL);
        List<dev.mesovirt.vmm.arch.Irq> intx = IntStream.range(0, 4)
                .mapToObj(i -> gic.allocate(dev.mesovirt.vmm.arch.IrqUse.PCI_INTX)).toList();
        devices.add(new DeviceDescription.PciHostBridge(layout.pci().orElseThrow(), intx));
        BootRequest request = Fixtures.request(Path.of("Image"), Optional.empty(), "console=ttyS0", vcpus, devices);
        return Aarch64Architecture.deviceTreeSpec(layout, request, placement(30 * MIB, 0), SEED);
    }

    /** Where a {@link #KERNEL} of that file size and an initrd go in 256 MiB. */
    static BootPlacement placement(long kernelFileSize, long initrdSize) throws BootPlacement.PlacementException {
        return BootPlacement.compute(0x4000_0000L, 256 * MIB, KERNEL, kernelFileSize, initrdSize,
                Aarch64Architecture.PLACEMENT);
    }

    private static int u32(FdtNode n, String p) {
        return n.property(p).orElseThrow(() -> new AssertionError(n.name() + " lacks " + p)).asU32();
    }

    private static String str(FdtNode n, String p) {
        return n.property(p).orElseThrow(() -> new AssertionError(n.name() + " lacks " + p)).asString();
    }

    private static int[] cells(FdtNode n, String p) {
        return n.property(p).orElseThrow(() -> new AssertionError(n.name() + " lacks " + p)).asU32Array();
    }

    private static long[] u64s(FdtNode n, String p) {
        return n.property(p).orElseThrow(() -> new AssertionError(n.name() + " lacks " + p)).asU64Array();
    }

    @Test
    void rootGicTimerPsciAndMemory() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 0, 0, "console=ttyS0"));
        FdtNode root = t.root();
        assertEquals("linux,dummy-virt", str(root, "compatible"));
        assertEquals(2, u32(root, "#address-cells"));
        assertEquals(2, u32(root, "#size-cells"));

        FdtNode gic = t.node("/intc@8000000");
        assertEquals(u32(root, "interrupt-parent"), u32(gic, "phandle"));
        assertEquals("arm,gic-v3", str(gic, "compatible"));
        assertEquals(3, u32(gic, "#interrupt-cells"));
        assertTrue(gic.property("interrupt-controller").orElseThrow().isEmpty());
        assertArrayEquals(new long[] {0x0800_0000L, 0x1_0000, 0x080A_0000L, 0x2_0000}, u64s(gic, "reg"));
        assertArrayEquals(new int[] {1, 9, 4}, cells(gic, "interrupts"));

        FdtNode timer = t.node("/timer");
        assertEquals("arm,armv8-timer", str(timer, "compatible"));
        assertArrayEquals(new int[] {1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4}, cells(timer, "interrupts"));
        assertTrue(timer.property("always-on").orElseThrow().isEmpty());

        FdtNode psci = t.node("/psci");
        assertEquals("arm,psci-0.2", str(psci, "compatible"));
        assertEquals("hvc", str(psci, "method"));

        FdtNode memory = t.node("/memory@40000000");
        assertEquals("memory", str(memory, "device_type"));
        assertArrayEquals(new long[] {0x4000_0000L, 256 * MIB}, u64s(memory, "reg"));
        assertEquals(0, t.bootCpuId());
        assertEquals(List.of(), t.memoryReservations());
    }

    @Test
    void oneCpu() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 0, 0, ""));
        FdtNode cpus = t.node("/cpus");
        assertEquals(2, u32(cpus, "#address-cells"));
        assertEquals(0, u32(cpus, "#size-cells"));
        assertEquals(List.of("cpu@0"), cpus.children().stream().map(FdtNode::name).toList());
        FdtNode cpu = t.node("/cpus/cpu@0");
        assertEquals("cpu", str(cpu, "device_type"));
        assertEquals("arm,arm-v8", str(cpu, "compatible"));
        assertEquals("psci", str(cpu, "enable-method"));
        assertEquals(0L, cpu.property("reg").orElseThrow().asU64());
    }

    @Test
    void twoCpusAndTheirRedistributors() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(2, 0, 0, ""));
        assertEquals(List.of("cpu@0", "cpu@1"), t.node("/cpus").children().stream().map(FdtNode::name).toList());
        assertEquals(1L, t.node("/cpus/cpu@1").property("reg").orElseThrow().asU64());
        assertEquals("psci", str(t.node("/cpus/cpu@1"), "enable-method"));
        assertEquals(2 * 0x2_0000L, u64s(t.node("/intc@8000000"), "reg")[3]);
    }

    @Test
    void seventeenCpusUseAff1() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(17, 0, 0, ""));
        assertEquals(0x100L, t.node("/cpus/cpu@100").property("reg").orElseThrow().asU64());
        assertEquals(17, t.node("/cpus").children().size());
    }

    @Test
    void uartAndChosenWithoutInitrd() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 0, 0, "console=ttyS0 quiet"));
        FdtNode uart = t.node("/uart@9000000");
        assertEquals("ns16550a", str(uart, "compatible"));
        assertArrayEquals(new long[] {0x0900_0000L, 8}, u64s(uart, "reg"));
        assertEquals(0, u32(uart, "reg-shift"));
        assertEquals(1_843_200, u32(uart, "clock-frequency"));
        assertArrayEquals(new int[] {0, 0, 4}, cells(uart, "interrupts"));

        FdtNode chosen = t.node("/chosen");
        assertEquals("console=ttyS0 quiet", str(chosen, "bootargs"));
        assertEquals("/uart@9000000", str(chosen, "stdout-path"));
        assertTrue(t.find(str(chosen, "stdout-path")).isPresent());
        assertFalse(chosen.property("linux,initrd-start").isPresent());
        assertFalse(chosen.property("linux,initrd-end").isPresent());
        assertEquals(32, chosen.property("rng-seed").orElseThrow().length());
    }

    @Test
    void chosenWithInitrd() throws Exception {
        long size = 5 * MIB + 17;
        BootPlacement p = placement(30 * MIB, size);
        FdtNode chosen = DeviceTree.parse(dtb(1, 0, size, "")).node("/chosen");
        assertEquals(p.initrdAddress(), chosen.property("linux,initrd-start").orElseThrow().asU64());
        assertEquals(p.initrdAddress() + size, chosen.property("linux,initrd-end").orElseThrow().asU64());
        assertEquals(8, chosen.property("linux,initrd-start").orElseThrow().length());
    }

    @Test
    void virtioSlots() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 3, 0, ""));
        for (int i = 0; i < 3; i++) {
            long base = 0x0A00_0000L + 0x200L * i;
            FdtNode v = t.node("/virtio_mmio@" + Long.toHexString(base));
            assertEquals("virtio,mmio", str(v, "compatible"));
            assertArrayEquals(new long[] {base, 0x200}, u64s(v, "reg"));
            assertArrayEquals(new int[] {0, 1 + i, 1}, cells(v, "interrupts"));
            assertTrue(v.property("dma-coherent").orElseThrow().isEmpty());
        }
        assertFalse(t.find("/virtio_mmio@a000600").isPresent());
    }

    @Test
    void powerButtonAsQemuVirt() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 2, 0, "", true));
        FdtNode clock = t.node("/apb-pclk");
        assertEquals("fixed-clock", str(clock, "compatible"));
        assertEquals(0, u32(clock, "#clock-cells"));
        assertEquals(24_000_000, u32(clock, "clock-frequency"));

        FdtNode gpio = t.node("/pl061@9030000");
        assertEquals(List.of("arm,pl061", "arm,primecell"), gpio.property("compatible").orElseThrow().asStringList());
        assertArrayEquals(new long[] {0x0903_0000L, 0x1000}, u64s(gpio, "reg"));
        assertArrayEquals(new int[] {0, 33, 4}, cells(gpio, "interrupts"));
        assertTrue(gpio.property("gpio-controller").orElseThrow().isEmpty());
        assertEquals(2, u32(gpio, "#gpio-cells"));
        assertEquals(u32(clock, "phandle"), u32(gpio, "clocks"));
        assertEquals("apb_pclk", str(gpio, "clock-names"));

        FdtNode keys = t.node("/gpio-keys");
        assertEquals("gpio-keys", str(keys, "compatible"));
        FdtNode key = t.node("/gpio-keys/poweroff");
        assertEquals("GPIO Key Poweroff", str(key, "label"));
        assertEquals(116, u32(key, "linux,code"));
        assertArrayEquals(new int[] {u32(gpio, "phandle"), 3, 0}, cells(key, "gpios"));

        // Three distinct phandles: the GIC's (the root's interrupt-parent), the clock's, the PL061's.
        int gic = u32(t.root(), "interrupt-parent");
        assertEquals(3, IntStream.of(gic, u32(clock, "phandle"), u32(gpio, "phandle")).distinct().count());
        // The virtio slots keep their SPIs.
        assertArrayEquals(new int[] {0, 1, 1}, cells(t.node("/virtio_mmio@a000000"), "interrupts"));
    }

    @Test
    void noPowerButtonNoGpioNodes() throws Exception {
        DeviceTree t = DeviceTree.parse(dtb(1, 2, 0, ""));
        assertFalse(t.find("/apb-pclk").isPresent());
        assertFalse(t.find("/pl061@9030000").isPresent());
        assertFalse(t.find("/gpio-keys").isPresent());
    }

    @Test
    void pioSerialIsRejected() {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.MICROVM, 256 * MIB, 1);
        BootRequest request = Fixtures.request(Path.of("Image"), Optional.empty(), "", 1, List.of(Fixtures.pioSerial()));
        assertThrows(IllegalArgumentException.class, () -> Aarch64Architecture.deviceTreeSpec(layout, request,
                placement(MIB, 0), SEED));
    }

    @Test
    void pioPowerButtonIsRejected() {
        MemoryLayout layout = Fixtures.ARCH.memoryLayout(MachineType.MICROVM, 256 * MIB, 1);
        BootRequest request = Fixtures.request(Path.of("Image"), Optional.empty(), "", 1, List.of(
                new DeviceDescription.PowerButton(BusKind.PIO, 0x600, 0x20, Gicv3.spi(Gicv3.POWER_BUTTON_SPI, true))));
        assertThrows(IllegalArgumentException.class, () -> Aarch64Architecture.deviceTreeSpec(layout, request,
                placement(MIB, 0), SEED));
    }

    /**
     * -machine virt as QEMU's virt describes it: an ITS under the GIC, and a generic ECAM host bridge whose INTx map
     * swizzles onto its four level-triggered SPIs and whose MSIs go to the ITS with device ID = requester ID.
     */
    @Test
    void theStandardMachinesItsAndPciHostBridge() throws Exception {
        DeviceTree t = DeviceTree.parse(virtDtb(2));
        FdtNode gic = t.node("/intc@8000000");
        FdtNode its = t.node("/intc@8000000/its@8080000");
        assertEquals("arm,gic-v3-its", str(its, "compatible"));
        assertTrue(its.property("msi-controller").orElseThrow().isEmpty());
        assertEquals(1, u32(its, "#msi-cells"));
        assertArrayEquals(new long[] {0x0808_0000L, 0x2_0000}, u64s(its, "reg"));

        FdtNode pci = t.node("/pcie@3f000000");
        assertEquals("pci-host-ecam-generic", str(pci, "compatible"));
        assertEquals("pci", str(pci, "device_type"));
        assertEquals(3, u32(pci, "#address-cells"));
        assertEquals(2, u32(pci, "#size-cells"));
        assertEquals(1, u32(pci, "#interrupt-cells"));
        assertArrayEquals(new long[] {0x3f00_0000L, 0x0100_0000L}, u64s(pci, "reg"));
        assertArrayEquals(new int[] {0, 15}, cells(pci, "bus-range"));
        assertTrue(pci.property("dma-coherent").orElseThrow().isEmpty());
        // 32-bit memory identity-mapped at 0x10000000, 64-bit memory at 512 GiB; no I/O space.
        assertArrayEquals(new int[] {
            0x0200_0000, 0, 0x1000_0000, 0, 0x1000_0000, 0, 0x2eff_0000,
            0x0300_0000, 0x80, 0, 0x80, 0, 0x80, 0}, cells(pci, "ranges"));
        assertArrayEquals(new int[] {0x1800, 0, 0, 7}, cells(pci, "interrupt-map-mask"));
        int[] map = cells(pci, "interrupt-map");
        assertEquals(16 * 10, map.length);
        int gicPhandle = u32(gic, "phandle");
        // The serial has SPI 0 and the bridge SPIs 1..4 (INTA..INTD of device 0); device d pin p raises (d + p) % 4.
        for (int device = 0; device < 4; device++) {
            for (int pin = 0; pin < 4; pin++) {
                int at = (device * 4 + pin) * 10;
                assertArrayEquals(new int[] {device << 11, 0, 0, pin + 1, gicPhandle, 0, 0, 0, 1 + (device + pin) % 4, 4},
                        java.util.Arrays.copyOfRange(map, at, at + 10), "device " + device + " pin " + pin);
            }
        }
        assertArrayEquals(new int[] {0, u32(its, "phandle"), 0, 0x10000}, cells(pci, "msi-map"));
        assertFalse(t.root().children().stream().anyMatch(n -> n.name().startsWith("virtio_mmio")));

        Dtc.Result r = Dtc.decompile(virtDtb(4));
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("", r.stderr(), "dtc warnings:\n" + r.stderr() + "\n" + r.text());
    }

    /** -machine virt's PL031, as QEMU's virt: a PrimeCell clocked by the APB clock, on its own level SPI. */
    @Test
    void theStandardMachinesRtc() throws Exception {
        DeviceTree t = DeviceTree.parse(virtDtb(1));
        FdtNode rtc = t.node("/pl031@9010000");
        assertEquals(List.of("arm,pl031", "arm,primecell"), rtc.property("compatible").orElseThrow().asStringList());
        assertArrayEquals(new long[] {0x0901_0000L, 0x1000}, u64s(rtc, "reg"));
        assertArrayEquals(new int[] {0, 34, 4}, cells(rtc, "interrupts"));
        assertEquals(u32(t.node("/apb-pclk"), "phandle"), u32(rtc, "clocks"));
        assertEquals("apb_pclk", str(rtc, "clock-names"));
        // One clock for both PrimeCells; the microVM has no RTC.
        assertEquals(1, t.root().children().stream().filter(n -> n.name().startsWith("apb-pclk")).count());
        assertFalse(DeviceTree.parse(dtb(1, 2, 0, "", true)).find("/pl031@9010000").isPresent());
    }

    @Test
    void treeIsSmall() throws Exception {
        assertTrue(dtb(123, 32, MIB, "x".repeat(2000)).length < 64 * 1024);
    }

    // dtc: the reference compiler must decompile our trees without a single warning.

    @Test
    void dtcDecompilesWithoutWarnings() throws Exception {
        for (byte[] blob : List.of(dtb(1, 0, 0, "console=ttyS0"), dtb(2, 32, 3 * MIB, "console=ttyS0 quiet"),
                dtb(123, 8, 0, ""), dtb(2, 32, 0, "", true))) {
            Dtc.Result r = Dtc.decompile(blob);
            assertEquals(0, r.exitCode(), r.stderr());
            assertEquals("", r.stderr(), "dtc warnings:\n" + r.stderr() + "\n" + r.text());
            assertTrue(r.text().contains("compatible = \"arm,gic-v3\";"), r.text());
        }
    }

    @Test
    void dtcSeesThePowerButton() throws Exception {
        String dts = Dtc.decompile(dtb(1, 0, 0, "", true)).text();
        for (String line : List.of(
                "compatible = \"arm,pl061\\0arm,primecell\";",
                "gpio-controller;",
                "#gpio-cells = <0x02>;",
                "clock-names = \"apb_pclk\";",
                "compatible = \"gpio-keys\";",
                "linux,code = <0x74>;",
                "gpios = <0x03 0x03 0x00>;")) {
            assertTrue(dts.contains(line), "missing \"" + line + "\" in:\n" + dts);
        }
    }

    @Test
    void dtcSeesTheExpectedSource() throws Exception {
        String dts = Dtc.decompile(dtb(2, 1, 0, "console=ttyS0")).text();
        for (String line : List.of(
                "interrupt-parent = <0x01>;",
                "enable-method = \"psci\";",
                "reg = <0x00 0x01>;",
                "reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000>;",
                "interrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 0x0a 0x04>;",
                "stdout-path = \"/uart@9000000\";",
                "interrupts = <0x00 0x00 0x04>;",
                "interrupts = <0x00 0x01 0x01>;",
                "method = \"hvc\";")) {
            assertTrue(dts.contains(line), "missing \"" + line + "\" in:\n" + dts);
        }
    }
}
