package dev.mesovirt.arch.riscv64;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The flattened device tree through which the riscv64 microVM describes itself to Linux, in the shape of QEMU's
 * {@code virt} with {@code aia=aplic-imsic} and kvmtool's trees: harts (each with its {@code riscv,cpu-intc}), RAM,
 * the IMSICs (Documentation/devicetree/bindings/interrupt-controller/riscv,imsics.yaml), the APLIC in MSI mode
 * (riscv,aplic.yaml), the 16550 UART, the virtio-mmio slots and {@code /chosen}. Built from plain data, so tests can
 * check it without KVM.
 *
 * <p>APLIC interrupt specifiers have two cells: source number and type (1 edge rising, 4 level high).
 */
public final class Riscv64DeviceTree {
    public static final int IRQ_TYPE_EDGE_RISING = 1;
    public static final int IRQ_TYPE_LEVEL_HIGH = 4;
    /** The supervisor external interrupt (the hart-local interrupt number the IMSICs raise). */
    public static final int IRQ_S_EXT = 9;
    public static final int UART_CLOCK_HZ = 1_843_200;

    private Riscv64DeviceTree() {}

    /** The AIA as the guest sees it. */
    public record Aia(long aplicBase, long aplicSize, int sources, long imsicBase, long imsicSizePerHart, int ids,
            int hartIndexBits) {}

    public record Uart(long base, long size, int registerShift, int source, boolean levelTriggered) {
        public String nodeName() {
            return "serial@" + Long.toHexString(base);
        }
    }

    public record VirtioMmio(long base, long size, int source, boolean levelTriggered) {}

    public record Spec(int harts, HostCpu cpu, List<GuestMemory.Region> ram, Aia aia, Uart uart,
            List<VirtioMmio> virtio, String bootargs, Optional<Long> initrdStart, long initrdSize, byte[] rngSeed) {
        public Spec {
            ram = List.copyOf(ram);
            virtio = List.copyOf(virtio);
            Objects.requireNonNull(cpu, "cpu");
            Objects.requireNonNull(aia, "aia");
            Objects.requireNonNull(uart, "uart");
            Objects.requireNonNull(bootargs, "bootargs");
            Objects.requireNonNull(initrdStart, "initrdStart");
            rngSeed = rngSeed.clone();
            if (harts < 1) {
                throw new IllegalArgumentException("a machine needs a hart");
            }
        }
    }

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

        writeChosen(fdt, spec);
        writeCpus(fdt, spec, intc);
        writeMemory(fdt, spec.ram());
        writeImsics(fdt, spec.aia(), intc, imsicPhandle);
        writeAplic(fdt, spec.aia(), imsicPhandle, aplicPhandle);
        writeUart(fdt, spec.uart(), aplicPhandle);
        for (VirtioMmio v : spec.virtio()) {
            writeVirtio(fdt, v, aplicPhandle);
        }
        fdt.endNode(root);
        return fdt.finish();
    }

    private static void writeChosen(FdtWriter fdt, Spec spec) {
        OpenNode chosen = fdt.beginNode("chosen");
        fdt.propertyString("bootargs", spec.bootargs());
        fdt.propertyString("stdout-path", "/" + spec.uart().nodeName());
        if (spec.initrdStart().isPresent() && spec.initrdSize() > 0) {
            long start = spec.initrdStart().get();
            fdt.propertyU64("linux,initrd-start", start);
            fdt.propertyU64("linux,initrd-end", start + spec.initrdSize());
        }
        if (spec.rngSeed().length > 0) {
            fdt.property("rng-seed", spec.rngSeed());
        }
        fdt.endNode(chosen);
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

    private static void writeMemory(FdtWriter fdt, List<GuestMemory.Region> ram) {
        OpenNode memory = fdt.beginNode("memory@" + Long.toHexString(ram.get(0).guestAddress()));
        fdt.propertyString("device_type", "memory");
        long[] reg = new long[2 * ram.size()];
        for (int i = 0; i < ram.size(); i++) {
            reg[2 * i] = ram.get(i).guestAddress();
            reg[2 * i + 1] = ram.get(i).size();
        }
        fdt.propertyU64Array("reg", reg);
        fdt.endNode(memory);
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

    private static void writeUart(FdtWriter fdt, Uart uart, int aplic) {
        OpenNode node = fdt.beginNode(uart.nodeName());
        fdt.propertyString("compatible", "ns16550a");
        fdt.propertyU64Array("reg", uart.base(), uart.size());
        fdt.propertyU32("reg-shift", uart.registerShift());
        fdt.propertyU32("clock-frequency", UART_CLOCK_HZ);
        fdt.propertyU32("interrupt-parent", aplic);
        fdt.propertyCells("interrupts", uart.source(), type(uart.levelTriggered()));
        fdt.endNode(node);
    }

    private static void writeVirtio(FdtWriter fdt, VirtioMmio v, int aplic) {
        OpenNode node = fdt.beginNode("virtio_mmio@" + Long.toHexString(v.base()));
        fdt.propertyString("compatible", "virtio,mmio");
        fdt.propertyU64Array("reg", v.base(), v.size());
        fdt.propertyU32("interrupt-parent", aplic);
        fdt.propertyCells("interrupts", v.source(), type(v.levelTriggered()));
        fdt.propertyEmpty("dma-coherent");
        fdt.endNode(node);
    }

    private static int type(boolean level) {
        return level ? IRQ_TYPE_LEVEL_HIGH : IRQ_TYPE_EDGE_RISING;
    }
}
