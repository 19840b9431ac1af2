package dev.mesovirt.arch.riscv64;

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
import dev.mesovirt.vmm.boot.GuestDescription;
import java.util.List;
import java.util.Objects;

/**
 * The flattened device tree through which the riscv64 microVM describes itself to Linux, in the shape of QEMU's
 * {@code virt} with {@code aia=aplic-imsic} and kvmtool's trees: harts (each with its {@code riscv,cpu-intc}), RAM,
 * the IMSICs (Documentation/devicetree/bindings/interrupt-controller/riscv,imsics.yaml), the APLIC in MSI mode
 * (riscv,aplic.yaml), the 16550 UART, the virtio-mmio slots (a microVM's) or the generic ECAM PCI host bridge (the
 * standard machine's, INTx to APLIC sources, MSIs to the IMSICs) and {@code /chosen}. Built from plain data, so tests can
 * check it without KVM.
 *
 * <p>APLIC interrupt specifiers have two cells: source number and type (1 edge rising, 4 level high).
 */
public final class Riscv64DeviceTree {
    public static final int IRQ_TYPE_EDGE_RISING = 1;
    public static final int IRQ_TYPE_LEVEL_HIGH = 4;
    /** The supervisor external interrupt (the hart-local interrupt number the IMSICs raise). */
    public static final int IRQ_S_EXT = 9;

    private Riscv64DeviceTree() {}

    /** The AIA as the guest sees it. */
    public record Aia(long aplicBase, long aplicSize, int sources, long imsicBase, long imsicSizePerHart, int ids,
            int hartIndexBits) {}

    /**
     * Everything the tree describes.
     *
     * @param guest RAM, the MMIO devices (whose interrupts' firmware numbers are APLIC sources) and /chosen
     */
    public record Spec(int harts, HostCpu cpu, Aia aia, GuestDescription guest) {
        public Spec {
            Objects.requireNonNull(cpu, "cpu");
            Objects.requireNonNull(aia, "aia");
            Objects.requireNonNull(guest, "guest");
            if (harts < 1) {
                throw new IllegalArgumentException("a machine needs a hart");
            }
        }
    }

    /** Writes the tree; the result is a DTB (version 17) ready to be copied into guest RAM. */
    public static byte[] build(Spec spec) {
        FdtWriter fdt = new FdtWriter();
        fdt.setBootCpuId(0);
        int[] intc = new int[spec.harts()];
        for (int i = 0; i < intc.length; i++) {
            intc[i] = fdt.allocatePhandle();
        }
        int imsicPhandle = fdt.allocatePhandle();
        int aplicPhandle = fdt.allocatePhandle();

        OpenNode root = fdt.beginNode("");
        fdt.propertyString("compatible", "linux,dummy-virt");
        fdt.propertyString("model", "mesovirt,microvm");
        fdt.propertyU32("#address-cells", 2);
        fdt.propertyU32("#size-cells", 2);

        GuestDescription guest = spec.guest();
        DeviceDescription.Serial serial = guest.serial();
        Ns16550Node uart = new Ns16550Node("serial", serial.base(), guest.serialSize(), serial.registerShift(),
                source(aplicPhandle, serial.irq()));
        new ChosenNode(guest.bootargs(), "/" + uart.nodeName(), guest.initrdStart(), guest.initrdSize(),
                guest.rngSeed()).writeTo(fdt);
        writeCpus(fdt, spec, intc);
        new MemoryNode(guest.ram().stream().map(r -> new MemoryNode.Range(r.guestAddress(), r.size())).toList())
                .writeTo(fdt);
        writeImsics(fdt, spec.aia(), intc, imsicPhandle);
        writeAplic(fdt, spec.aia(), imsicPhandle, aplicPhandle);
        uart.writeTo(fdt);
        for (DeviceDescription.VirtioMmio v : guest.virtio()) {
            new VirtioMmioNode(v.base(), v.size(), source(aplicPhandle, v.irq())).writeTo(fdt);
        }
        if (guest.pci().isPresent()) {
            pciHost(guest.pci().get(), aplicPhandle, imsicPhandle).writeTo(fdt);
        }
        fdt.endNode(root);
        return fdt.finish();
    }

    private static void writeCpus(FdtWriter fdt, Spec spec, int[] intc) {
        HostCpu cpu = spec.cpu();
        OpenNode cpus = fdt.beginNode("cpus");
        fdt.propertyU32("#address-cells", 1);
        fdt.propertyU32("#size-cells", 0);
        fdt.propertyU32("timebase-frequency", (int) cpu.timebaseFrequency());
        String mmu = RiscvKvm.mmuType(cpu.satpMode());
        for (int i = 0; i < spec.harts(); i++) {
            OpenNode node = fdt.beginNode("cpu@" + Integer.toHexString(i));
            fdt.propertyString("device_type", "cpu");
            fdt.propertyU32("reg", i);
            fdt.propertyString("compatible", "riscv");
            fdt.propertyString("status", "okay");
            fdt.propertyString("riscv,isa", cpu.isaString());
            fdt.propertyString("riscv,isa-base", "rv64i");
            fdt.propertyStringList("riscv,isa-extensions", cpu.isaExtensions());
            if (mmu != null) {
                fdt.propertyString("mmu-type", mmu);
            }
            if (cpu.cbomBlockSize() > 0) {
                fdt.propertyU32("riscv,cbom-block-size", (int) cpu.cbomBlockSize());
            }
            if (cpu.cbozBlockSize() > 0) {
                fdt.propertyU32("riscv,cboz-block-size", (int) cpu.cbozBlockSize());
            }
            OpenNode ic = fdt.beginNode("interrupt-controller");
            fdt.propertyString("compatible", "riscv,cpu-intc");
            fdt.propertyU32("#interrupt-cells", 1);
            fdt.propertyU32("#address-cells", 0);
            fdt.propertyEmpty("interrupt-controller");
            fdt.propertyPhandle(intc[i]);
            fdt.endNode(ic);
            fdt.endNode(node);
        }
        fdt.endNode(cpus);
    }

    private static void writeImsics(FdtWriter fdt, Aia aia, int[] intc, int phandle) {
        OpenNode node = fdt.beginNode("imsics@" + Long.toHexString(aia.imsicBase()));
        fdt.propertyString("compatible", "riscv,imsics");
        fdt.propertyU64Array("reg", aia.imsicBase(), aia.imsicSizePerHart() * intc.length);
        int[] ext = new int[2 * intc.length];
        for (int i = 0; i < intc.length; i++) {
            ext[2 * i] = intc[i];
            ext[2 * i + 1] = IRQ_S_EXT;
        }
        fdt.propertyCells("interrupts-extended", ext);
        fdt.propertyU32("#interrupt-cells", 0);
        fdt.propertyU32("#address-cells", 0);
        fdt.propertyEmpty("interrupt-controller");
        fdt.propertyEmpty("msi-controller");
        fdt.propertyU32("#msi-cells", 0);
        fdt.propertyU32("riscv,num-ids", aia.ids());
        fdt.propertyU32("riscv,hart-index-bits", aia.hartIndexBits());
        fdt.propertyPhandle(phandle);
        fdt.endNode(node);
    }

    private static void writeAplic(FdtWriter fdt, Aia aia, int imsicPhandle, int phandle) {
        OpenNode node = fdt.beginNode("aplic@" + Long.toHexString(aia.aplicBase()));
        fdt.propertyString("compatible", "riscv,aplic");
        fdt.propertyU64Array("reg", aia.aplicBase(), aia.aplicSize());
        fdt.propertyU32("#interrupt-cells", 2);
        fdt.propertyU32("#address-cells", 0);
        fdt.propertyEmpty("interrupt-controller");
        fdt.propertyU32("msi-parent", imsicPhandle);
        fdt.propertyU32("riscv,num-sources", aia.sources());
        fdt.propertyPhandle(phandle);
        fdt.endNode(node);
    }

    /**
     * The host bridge as QEMU's virt describes its own: identity-mapped memory windows, INTx to the bridge's four
     * level-triggered APLIC sources with the usual swizzle, MSIs to the IMSICs.
     */
    static PciHostEcamNode pciHost(DeviceDescription.PciHostBridge bridge, int aplicPhandle, int imsicPhandle) {
        PciLayout layout = bridge.layout();
        if (layout.io().isPresent()) {
            throw new IllegalArgumentException("riscv64's PCI host bridge forwards no I/O space");
        }
        List<PciHostEcamNode.Range> ranges = PciHostEcamNode.identityMemory(layout.mmio32().base(),
                layout.mmio32().size(), layout.mmio64().map(PciLayout.Window::base).orElse(0L),
                layout.mmio64().map(PciLayout.Window::size).orElse(0L));
        List<PciHostEcamNode.IntxRoute> intx = PciHostEcamNode.swizzled(aplicPhandle, 0, line -> {
            Irq irq = bridge.intx().get(line);
            return List.of(irq.firmwareNumber(), irq.levelTriggered() ? IRQ_TYPE_LEVEL_HIGH : IRQ_TYPE_EDGE_RISING);
        });
        return new PciHostEcamNode(layout.ecamBase(), layout.buses(), ranges, intx,
                new PciHostEcamNode.Msi.Parent(imsicPhandle));
    }

    /** An APLIC source: {@code <source type>} with the APLIC as interrupt-parent. */
    private static Interrupts source(int aplic, Irq irq) {
        return Interrupts.of(aplic, irq.firmwareNumber(), irq.levelTriggered() ? IRQ_TYPE_LEVEL_HIGH
                : IRQ_TYPE_EDGE_RISING);
    }
}
