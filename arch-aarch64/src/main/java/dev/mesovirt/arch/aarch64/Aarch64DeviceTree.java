package dev.mesovirt.arch.aarch64;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import dev.mesovirt.fdt.nodes.ChosenNode;
import dev.mesovirt.fdt.nodes.Interrupts;
import dev.mesovirt.fdt.nodes.MemoryNode;
import dev.mesovirt.fdt.nodes.Ns16550Node;
import dev.mesovirt.fdt.nodes.PciHostEcamNode;
import dev.mesovirt.fdt.nodes.VirtioMmioNode;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.arch.UartModel;
import dev.mesovirt.vmm.boot.GuestDescription;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The flattened device tree through which the arm64 microVM describes itself to Linux, in the shape of QEMU's
 * {@code virt} and Firecracker's trees: CPUs started through PSCI, RAM, the GICv3, the architected timer, PSCI,
 * the 16550 UART, the virtio-mmio slots (a microVM's) or the generic ECAM PCI host bridge with the GIC's ITS (the
 * standard machine's), the power button (a PL061 GPIO line that a {@code gpio-keys} node makes
 * KEY_POWER, with the fixed {@code apb-pclk} clock that AMBA devices need), the standard machine's PL031 RTC (on the
 * same clock) and {@code /chosen}; for firmware (EDK2) the PL011 console, the flash banks, fw_cfg and the PCI I/O
 * window too. Built from plain
 * data, so tests can check it without KVM.
 *
 * <p>Interrupt specifiers use the GICv3 binding's three cells: type (0 SPI, 1 PPI), number (SPI number counted
 * from INTID 32, or PPI number counted from INTID 16), flags (1 edge rising, 4 level high; the GICv3 binding
 * defines no CPU mask and no other flags).
 */
public final class Aarch64DeviceTree {
    public static final int GIC_SPI = 0;
    public static final int GIC_PPI = 1;
    public static final int IRQ_TYPE_EDGE_RISING = 1;
    public static final int IRQ_TYPE_LEVEL_HIGH = 4;
    /** The vGIC maintenance interrupt: PPI 9 (INTID 25), as KVM and QEMU's virt use. */
    public static final int GIC_MAINTENANCE_PPI = 9;
    /** Architected timer PPIs in binding order: secure physical 13, non-secure physical 14, virtual 11, hyp 10. */
    public static final int[] TIMER_PPIS = {13, 14, 11, 10};
    /** The AMBA APB clock QEMU's virt declares (only its presence matters to a PL061). */
    public static final int APB_PCLK_HZ = 24_000_000;
    /** Linux's input event code KEY_POWER (include/uapi/linux/input-event-codes.h). */
    public static final int KEY_POWER = 116;

    private Aarch64DeviceTree() {}

    /** The interrupt controller: distributor, one contiguous redistributor region and, for PCI MSIs, an ITS. */
    public record Gic(long distributorBase, long distributorSize, long redistributorBase, long redistributorSize,
            OptionalLong itsBase) {
        public Gic {
            Objects.requireNonNull(itsBase, "itsBase");
        }

        /** A GIC without ITS (the microVM's). */
        public Gic(long distributorBase, long distributorSize, long redistributorBase, long redistributorSize) {
            this(distributorBase, distributorSize, redistributorBase, redistributorSize, OptionalLong.empty());
        }
    }

    /** A PL031 real-time clock: its register window and SPI. */
    public record Rtc(long base, long size, Irq irq) {
        public Rtc {
            Objects.requireNonNull(irq, "irq");
        }
    }

    /**
     * Everything the tree describes.
     *
     * @param cpuAffinities each vCPU's MPIDR_EL1 affinity fields (Aff3 in bits 32-39, Aff2..Aff0 in bits 0-23), in
     *     vCPU order; they become the {@code reg} of the {@code cpu@} nodes
     * @param guest RAM, the MMIO devices (whose interrupts' firmware numbers are SPI numbers, counted from INTID 32)
     *     and /chosen
     * @param rtc the PL031, the standard machine's
     */
    public record Spec(List<Long> cpuAffinities, Gic gic, GuestDescription guest, Optional<Rtc> rtc,
            Optional<Firmware> firmware) {
        public Spec {
            cpuAffinities = List.copyOf(cpuAffinities);
            Objects.requireNonNull(gic, "gic");
            Objects.requireNonNull(guest, "guest");
            Objects.requireNonNull(rtc, "rtc");
            Objects.requireNonNull(firmware, "firmware");
            if (cpuAffinities.isEmpty()) {
                throw new IllegalArgumentException("a machine needs a CPU");
            }
        }

        /** A kernel's tree. */
        public Spec(List<Long> cpuAffinities, Gic gic, GuestDescription guest, Optional<Rtc> rtc) {
            this(cpuAffinities, gic, guest, rtc, Optional.empty());
        }
    }

    /**
     * What a tree for firmware (EDK2's ArmVirtQemu, which reads it from the start of RAM) has beyond a kernel's, as
     * QEMU's virt gives it: the flash banks as one {@code cfi-flash} node (EDK2 keeps its variables in the bank that
     * does not hold its own code), fw_cfg as {@code qemu,fw-cfg-mmio}, and an I/O window in the PCI host bridge's
     * {@code ranges}, without which EDK2 2022.11's FdtPciHostBridgeLib gives up on the bridge (I/O space is
     * memory-mapped there; no device behind it decodes any: virtio-pci has memory BARs only).
     */
    public record Firmware(List<DeviceDescription.Flash> flash, Optional<DeviceDescription.FirmwareConfig> fwCfg,
            Optional<PciLayout.Window> pciIo) {
        public Firmware {
            flash = List.copyOf(flash);
            Objects.requireNonNull(fwCfg, "fwCfg");
            Objects.requireNonNull(pciIo, "pciIo");
        }
    }

    /** Writes the tree; the result is a DTB (version 17) ready to be copied into guest RAM. */
    public static byte[] build(Spec spec) {
        FdtWriter fdt = new FdtWriter();
        fdt.setBootCpuId((int) (spec.cpuAffinities().get(0) & 0xff_ffff));
        int gicPhandle = fdt.allocatePhandle();

        OpenNode root = fdt.beginNode("");
        fdt.propertyString("compatible", "linux,dummy-virt");
        fdt.propertyU32("#address-cells", 2);
        fdt.propertyU32("#size-cells", 2);
        fdt.propertyU32("interrupt-parent", gicPhandle);

        GuestDescription guest = spec.guest();
        DeviceDescription.Serial serial = guest.serial();
        boolean pl011 = serial.model() == UartModel.PL011;
        Ns16550Node uart = new Ns16550Node("uart", serial.base(), guest.serialSize(), serial.registerShift(),
                spi(serial.irq()));
        String uartPath = "/" + (pl011 ? pl011NodeName(serial) : uart.nodeName());
        new ChosenNode(guest.bootargs(), uartPath, guest.initrdStart(), guest.initrdSize(),
                guest.rngSeed()).writeTo(fdt);
        writeCpus(fdt, spec.cpuAffinities());
        new MemoryNode(guest.ram().stream().map(r -> new MemoryNode.Range(r.guestAddress(), r.size())).toList())
                .writeTo(fdt);
        int itsPhandle = spec.gic().itsBase().isPresent() ? fdt.allocatePhandle() : 0;
        writeGic(fdt, spec.gic(), gicPhandle, itsPhandle);
        writeTimer(fdt);
        writePsci(fdt);
        if (!pl011) {
            uart.writeTo(fdt);
        }
        int clockPhandle = 0;
        if (guest.powerButton().isPresent() || spec.rtc().isPresent() || pl011) {
            clockPhandle = writeApbClock(fdt);
        }
        if (pl011) {
            writePl011(fdt, serial, clockPhandle);
        }
        if (guest.powerButton().isPresent()) {
            writePowerButton(fdt, guest.powerButton().get(), clockPhandle);
        }
        if (spec.rtc().isPresent()) {
            writeRtc(fdt, spec.rtc().get(), clockPhandle);
        }
        for (DeviceDescription.VirtioMmio v : guest.virtio()) {
            new VirtioMmioNode(v.base(), v.size(), spi(v.irq())).writeTo(fdt);
        }
        if (guest.pci().isPresent()) {
            if (spec.gic().itsBase().isEmpty()) {
                throw new IllegalArgumentException("a PCI host bridge needs the GIC's ITS for its MSIs");
            }
            pciHost(guest.pci().get(), gicPhandle, itsPhandle,
                    spec.firmware().flatMap(Firmware::pciIo)).writeTo(fdt);
        }
        if (spec.firmware().isPresent()) {
            writeFlash(fdt, spec.firmware().get().flash());
            spec.firmware().get().fwCfg().ifPresent(c -> writeFwCfg(fdt, c));
        }

        fdt.endNode(root);
        return fdt.finish();
    }

    private static void writeCpus(FdtWriter fdt, List<Long> affinities) {
        OpenNode cpus = fdt.beginNode("cpus");
        // Two address cells hold the whole affinity, Aff3 included, as the arm,cpus binding allows.
        fdt.propertyU32("#address-cells", 2);
        fdt.propertyU32("#size-cells", 0);
        for (long aff : affinities) {
            OpenNode cpu = fdt.beginNode("cpu@" + Long.toHexString(aff));
            fdt.propertyString("device_type", "cpu");
            fdt.propertyString("compatible", "arm,arm-v8");
            fdt.propertyString("enable-method", "psci");
            fdt.propertyU64("reg", aff);
            fdt.endNode(cpu);
        }
        fdt.endNode(cpus);
    }

    private static void writeGic(FdtWriter fdt, Gic gic, int phandle, int itsPhandle) {
        OpenNode intc = fdt.beginNode("intc@" + Long.toHexString(gic.distributorBase()));
        fdt.propertyString("compatible", "arm,gic-v3");
        fdt.propertyU32("#interrupt-cells", 3);
        fdt.propertyEmpty("interrupt-controller");
        // The ITS is a child at the root's addresses; interrupt providers carry #address-cells (dtc checks it).
        fdt.propertyU32("#address-cells", 2);
        fdt.propertyU32("#size-cells", 2);
        fdt.propertyEmpty("ranges");
        fdt.propertyU64Array("reg", gic.distributorBase(), gic.distributorSize(), gic.redistributorBase(),
                gic.redistributorSize());
        fdt.propertyCells("interrupts", GIC_PPI, GIC_MAINTENANCE_PPI, IRQ_TYPE_LEVEL_HIGH);
        fdt.propertyPhandle(phandle);
        if (gic.itsBase().isPresent()) {
            OpenNode its = fdt.beginNode("its@" + Long.toHexString(gic.itsBase().getAsLong()));
            fdt.propertyString("compatible", "arm,gic-v3-its");
            fdt.propertyEmpty("msi-controller");
            // One cell: the device ID, which the PCI host's msi-map derives from the requester ID.
            fdt.propertyU32("#msi-cells", 1);
            fdt.propertyU64Array("reg", gic.itsBase().getAsLong(), Arm64Kvm.VGIC_V3_ITS_SIZE);
            fdt.propertyPhandle(itsPhandle);
            fdt.endNode(its);
        }
        fdt.endNode(intc);
    }

    /**
     * The host bridge as QEMU's virt describes its own: identity-mapped memory windows, INTx to the bridge's four
     * level-triggered SPIs with the usual swizzle, MSIs to the ITS with device ID = requester ID.
     */
    static PciHostEcamNode pciHost(DeviceDescription.PciHostBridge bridge, int gicPhandle, int itsPhandle) {
        return pciHost(bridge, gicPhandle, itsPhandle, Optional.empty());
    }

    /** As above, with {@code pciIo}: an I/O window (PCI I/O addresses from 0) at that CPU address, for firmware. */
    static PciHostEcamNode pciHost(DeviceDescription.PciHostBridge bridge, int gicPhandle, int itsPhandle,
            Optional<PciLayout.Window> pciIo) {
        PciLayout layout = bridge.layout();
        if (layout.io().isPresent()) {
            throw new IllegalArgumentException("aarch64's PCI host bridge forwards no I/O space");
        }
        List<PciHostEcamNode.Range> ranges = new java.util.ArrayList<>();
        pciIo.ifPresent(w -> ranges.add(new PciHostEcamNode.Range(PciHostEcamNode.Space.IO, false, 0, w.base(),
                w.size())));
        ranges.addAll(PciHostEcamNode.identityMemory(layout.mmio32().base(),
                layout.mmio32().size(), layout.mmio64().map(PciLayout.Window::base).orElse(0L),
                layout.mmio64().map(PciLayout.Window::size).orElse(0L)));
        List<PciHostEcamNode.IntxRoute> intx = PciHostEcamNode.swizzled(gicPhandle, 2, line -> {
            Irq irq = bridge.intx().get(line);
            return List.of(GIC_SPI, irq.firmwareNumber(), flags(irq.levelTriggered()));
        });
        return new PciHostEcamNode(layout.ecamBase(), layout.buses(), ranges, intx,
                new PciHostEcamNode.Msi.Map(itsPhandle));
    }

    private static void writeTimer(FdtWriter fdt) {
        OpenNode timer = fdt.beginNode("timer");
        fdt.propertyString("compatible", "arm,armv8-timer");
        int[] cells = new int[3 * TIMER_PPIS.length];
        for (int i = 0; i < TIMER_PPIS.length; i++) {
            cells[3 * i] = GIC_PPI;
            cells[3 * i + 1] = TIMER_PPIS[i];
            cells[3 * i + 2] = IRQ_TYPE_LEVEL_HIGH;
        }
        fdt.propertyCells("interrupts", cells);
        fdt.propertyEmpty("always-on");
        fdt.endNode(timer);
    }

    private static void writePsci(FdtWriter fdt) {
        OpenNode psci = fdt.beginNode("psci");
        fdt.propertyString("compatible", "arm,psci-0.2");
        fdt.propertyString("method", "hvc");
        fdt.endNode(psci);
    }

    /**
     * As QEMU's virt: the APB clock, the PL061 and a gpio-keys node whose one key is KEY_POWER on the PL061's line
     * {@link Pl061#POWER_BUTTON_LINE}.
     */
    private static void writePowerButton(FdtWriter fdt, DeviceDescription.PowerButton b, int clockPhandle) {
        int gpioPhandle = fdt.allocatePhandle();
        OpenNode gpio = fdt.beginNode("pl061@" + Long.toHexString(b.base()));
        fdt.propertyStringList("compatible", List.of("arm,pl061", "arm,primecell"));
        fdt.propertyU64Array("reg", b.base(), b.size());
        fdt.propertyCells("interrupts", GIC_SPI, b.irq().firmwareNumber(), flags(b.irq().levelTriggered()));
        fdt.propertyEmpty("gpio-controller");
        fdt.propertyU32("#gpio-cells", 2);
        fdt.propertyU32("clocks", clockPhandle);
        fdt.propertyString("clock-names", "apb_pclk");
        fdt.propertyPhandle(gpioPhandle);
        fdt.endNode(gpio);

        OpenNode keys = fdt.beginNode("gpio-keys");
        fdt.propertyString("compatible", "gpio-keys");
        OpenNode key = fdt.beginNode("poweroff");
        fdt.propertyString("label", "GPIO Key Poweroff");
        fdt.propertyU32("linux,code", KEY_POWER);
        // <&pl061 line flags>: flags 0 is GPIO_ACTIVE_HIGH, the line is high while the button is down.
        fdt.propertyCells("gpios", gpioPhandle, Pl061.POWER_BUTTON_LINE, 0);
        fdt.endNode(key);
        fdt.endNode(keys);
    }

    /** The AMBA bus enables a PrimeCell's "apb_pclk" before it reads the ID registers; this tree has no other. */
    private static int writeApbClock(FdtWriter fdt) {
        int clockPhandle = fdt.allocatePhandle();
        OpenNode clock = fdt.beginNode("apb-pclk");
        fdt.propertyString("compatible", "fixed-clock");
        fdt.propertyU32("#clock-cells", 0);
        fdt.propertyU32("clock-frequency", APB_PCLK_HZ);
        fdt.propertyString("clock-output-names", "clk24mhz");
        fdt.propertyPhandle(clockPhandle);
        fdt.endNode(clock);
        return clockPhandle;
    }

    /** As QEMU's virt: a PrimeCell with the APB clock, which rtc-pl031 registers as an RTC. */
    private static void writeRtc(FdtWriter fdt, Rtc rtc, int clockPhandle) {
        OpenNode node = fdt.beginNode("pl031@" + Long.toHexString(rtc.base()));
        fdt.propertyStringList("compatible", List.of("arm,pl031", "arm,primecell"));
        fdt.propertyU64Array("reg", rtc.base(), rtc.size());
        fdt.propertyCells("interrupts", GIC_SPI, rtc.irq().firmwareNumber(), flags(rtc.irq().levelTriggered()));
        fdt.propertyU32("clocks", clockPhandle);
        fdt.propertyString("clock-names", "apb_pclk");
        fdt.endNode(node);
    }

    static String pl011NodeName(DeviceDescription.Serial serial) {
        return "pl011@" + Long.toHexString(serial.base());
    }

    /**
     * As QEMU's virt: a PrimeCell whose UART clock and bus clock are both the APB clock (Linux's amba-pl011 takes
     * its baud-rate clock from "uartclk"). EDK2 finds it by its compatible string.
     */
    private static void writePl011(FdtWriter fdt, DeviceDescription.Serial serial, int clockPhandle) {
        OpenNode node = fdt.beginNode(pl011NodeName(serial));
        fdt.propertyStringList("compatible", List.of("arm,pl011", "arm,primecell"));
        fdt.propertyU64Array("reg", serial.base(), dev.mesovirt.vmm.device.Pl011.SIZE);
        fdt.propertyCells("interrupts", GIC_SPI, serial.irq().firmwareNumber(), flags(serial.irq().levelTriggered()));
        fdt.propertyCells("clocks", clockPhandle, clockPhandle);
        fdt.propertyStringList("clock-names", List.of("uartclk", "apb_pclk"));
        fdt.endNode(node);
    }

    /**
     * The flash units as one node, as QEMU's virt has its two banks: {@code reg} holds each unit's window in unit
     * order, {@code bank-width} the bank's bytes. Nothing without units.
     */
    private static void writeFlash(FdtWriter fdt, List<DeviceDescription.Flash> units) {
        if (units.isEmpty()) {
            return;
        }
        long[] reg = new long[2 * units.size()];
        for (int i = 0; i < units.size(); i++) {
            DeviceDescription.Flash u = units.get(i);
            if (u.unit() != i || u.bankWidth() != units.get(0).bankWidth()) {
                throw new IllegalArgumentException("flash units go 0, 1, ... in one bank width: " + units);
            }
            reg[2 * i] = u.base();
            reg[2 * i + 1] = u.size();
        }
        OpenNode node = fdt.beginNode("flash@" + Long.toHexString(units.get(0).base()));
        fdt.propertyString("compatible", "cfi-flash");
        fdt.propertyU64Array("reg", reg);
        fdt.propertyU32("bank-width", units.get(0).bankWidth());
        fdt.endNode(node);
    }

    /** QEMU's fw_cfg binding: its registers, and DMA that sees memory as the CPUs do. */
    private static void writeFwCfg(FdtWriter fdt, DeviceDescription.FirmwareConfig c) {
        if (c.bus() != dev.mesovirt.vmm.arch.BusKind.MMIO) {
            throw new IllegalArgumentException("aarch64 has no port I/O: fw_cfg must be on MMIO");
        }
        OpenNode node = fdt.beginNode("fw-cfg@" + Long.toHexString(c.base()));
        fdt.propertyString("compatible", "qemu,fw-cfg-mmio");
        fdt.propertyU64Array("reg", c.base(), c.length());
        fdt.propertyEmpty("dma-coherent");
        fdt.endNode(node);
    }

    /** An SPI of the GIC, the root's interrupt-parent: {@code <GIC_SPI spi flags>}. */
    private static Interrupts spi(Irq irq) {
        return Interrupts.inherited(GIC_SPI, irq.firmwareNumber(), flags(irq.levelTriggered()));
    }

    private static int flags(boolean level) {
        return level ? IRQ_TYPE_LEVEL_HIGH : IRQ_TYPE_EDGE_RISING;
    }
}
