package dev.mesovirt.fdt.nodes;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A generic PCI Express host bridge with an ECAM window ({@code pci-host-ecam-generic}, the binding
 * {@code pci/host-generic-pci.yaml} and QEMU's arm64 and riscv64 {@code virt} boards): its configuration window, the
 * address windows it forwards ({@code ranges}), how the four INTx pins of the root bus's devices reach the interrupt
 * controller ({@code interrupt-map}) and where MSIs go ({@code msi-map} to an ITS, or {@code msi-parent} to an
 * IMSIC). Everything comes in as plain data; the node knows no interrupt controller.
 *
 * @param ecamBase the ECAM window's CPU address (bus 0's configuration space)
 * @param buses how many buses the window decodes (1 MiB each)
 * @param ranges the forwarded windows
 * @param intx one entry per (device, pin) of the root bus that the map covers; Linux swizzles pins behind bridges
 * @param msi where message-signalled interrupts go
 */
public record PciHostEcamNode(long ecamBase, int buses, List<Range> ranges, List<IntxRoute> intx, Msi msi) {
    /** 1 MiB of configuration space per bus. */
    public static final long ECAM_BYTES_PER_BUS = 1L << 20;
    /** The three-cell PCI address's space code (bits 24-25 of phys.hi) and its prefetchable bit (bit 30). */
    static final int SPACE_IO = 0x0100_0000;
    static final int SPACE_MEM32 = 0x0200_0000;
    static final int SPACE_MEM64 = 0x0300_0000;
    static final int PREFETCHABLE = 0x4000_0000;
    /**
     * interrupt-map-mask: the low two bits of the device number (phys.hi bits 11-12) and the pin. The INTx swizzle
     * repeats every four devices, so sixteen entries cover the bus (QEMU's virt does the same).
     */
    static final int DEVICE_MASK = 3 << 11;

    /** What a window holds, as its {@code ranges} entry's space code says. */
    public enum Space { IO, MEM32, MEM64 }

    /**
     * One forwarded window: PCI bus addresses {@code pciAddress..+size} seen by the CPU at {@code cpuAddress} (I/O
     * space is memory-mapped on these machines).
     */
    public record Range(Space space, boolean prefetchable, long pciAddress, long cpuAddress, long size) {
        public Range {
            Objects.requireNonNull(space, "space");
            if (size <= 0) {
                throw new IllegalArgumentException("an empty PCI window");
            }
        }
    }

    /**
     * Pin {@code pin} (1 = INTA .. 4 = INTD, the binding's numbering) of the root bus's devices whose number is
     * {@code device} modulo 4 raises the interrupt {@code parentInterrupt} of the controller {@code parentPhandle}, whose {@code #address-cells} is
     * {@code parentAddressCells} (the map repeats that many zero cells).
     */
    public record IntxRoute(int device, int pin, int parentPhandle, int parentAddressCells, List<Integer> parentInterrupt) {
        public IntxRoute {
            if (device < 0 || device > 3) {
                throw new IllegalArgumentException("INTx map device " + device + " is not in 0..3 (the mask's two bits)");
            }
            if (pin < 1 || pin > 4) {
                throw new IllegalArgumentException("INTx pin " + pin + " is not in 1..4");
            }
            if (parentAddressCells < 0 || parentAddressCells > 3) {
                throw new IllegalArgumentException("bad #address-cells " + parentAddressCells);
            }
            parentInterrupt = List.copyOf(parentInterrupt);
        }
    }

    /** Where the bridge's MSIs go. */
    public sealed interface Msi {
        /** {@code msi-map = <0 &controller 0 0x10000>}: requester ID n is device ID n of an ITS. */
        record Map(int controllerPhandle) implements Msi {}

        /** {@code msi-parent = <&controller>}: an IMSIC, which needs no device ID. */
        record Parent(int controllerPhandle) implements Msi {}

        /** No MSIs: INTx only. */
        record None() implements Msi {}
    }

    public PciHostEcamNode {
        if (buses < 1 || buses > 256) {
            throw new IllegalArgumentException("an ECAM window decodes 1..256 buses, not " + buses);
        }
        if ((ecamBase & (ECAM_BYTES_PER_BUS - 1)) != 0) {
            throw new IllegalArgumentException("the ECAM window must be 1 MiB aligned");
        }
        ranges = List.copyOf(ranges);
        intx = List.copyOf(intx);
        Objects.requireNonNull(msi, "msi");
    }

    /** The windows of a bridge that maps PCI memory 1:1: 32-bit memory, and 64-bit memory unless its size is 0. */
    public static List<Range> identityMemory(long mmio32Base, long mmio32Size, long mmio64Base, long mmio64Size) {
        List<Range> ranges = new ArrayList<>();
        ranges.add(new Range(Space.MEM32, false, mmio32Base, mmio32Base, mmio32Size));
        if (mmio64Size > 0) {
            ranges.add(new Range(Space.MEM64, false, mmio64Base, mmio64Base, mmio64Size));
        }
        return ranges;
    }

    /**
     * The sixteen routes of the usual swizzle: pin p (0 = INTA) of device d raises the bridge's line (d + p) % 4,
     * whose interrupt specifier at the controller is {@code lineCells.apply(line)}.
     */
    public static List<IntxRoute> swizzled(int parentPhandle, int parentAddressCells,
            java.util.function.IntFunction<List<Integer>> lineCells) {
        List<IntxRoute> routes = new ArrayList<>();
        for (int device = 0; device < 4; device++) {
            for (int pin = 0; pin < 4; pin++) {
                routes.add(new IntxRoute(device, pin + 1, parentPhandle, parentAddressCells,
                        lineCells.apply((device + pin) & 3)));
            }
        }
        return routes;
    }

    public String nodeName() {
        return "pcie@" + Long.toHexString(ecamBase);
    }

    public void writeTo(FdtWriter fdt) {
        OpenNode node = fdt.beginNode(nodeName());
        fdt.propertyString("compatible", "pci-host-ecam-generic");
        fdt.propertyString("device_type", "pci");
        fdt.propertyU32("#address-cells", 3);
        fdt.propertyU32("#size-cells", 2);
        fdt.propertyU32("#interrupt-cells", 1);
        fdt.propertyU64Array("reg", ecamBase, buses * ECAM_BYTES_PER_BUS);
        fdt.propertyCells("bus-range", 0, buses - 1);
        fdt.propertyU32("linux,pci-domain", 0);
        // The VMM reads and writes DMA buffers through the same cacheable mapping of guest RAM as the guest.
        fdt.propertyEmpty("dma-coherent");
        fdt.propertyCells("ranges", rangeCells());
        if (!intx.isEmpty()) {
            fdt.propertyCells("interrupt-map-mask", DEVICE_MASK, 0, 0, 7);
            fdt.propertyCells("interrupt-map", intxCells());
        }
        switch (msi) {
            case Msi.Map m -> fdt.propertyCells("msi-map", 0, m.controllerPhandle(), 0, 0x10000);
            case Msi.Parent p -> fdt.propertyU32("msi-parent", p.controllerPhandle());
            case Msi.None n -> { }
        }
        fdt.endNode(node);
    }

    /** Each range: the PCI address (3 cells), the CPU address (2, the root's #address-cells) and the size (2). */
    private int[] rangeCells() {
        List<Integer> cells = new ArrayList<>();
        for (Range r : ranges) {
            int hi = switch (r.space()) {
                case IO -> SPACE_IO;
                case MEM32 -> SPACE_MEM32;
                case MEM64 -> SPACE_MEM64;
            } | (r.prefetchable() ? PREFETCHABLE : 0);
            cells.add(hi);
            addU64(cells, r.pciAddress());
            addU64(cells, r.cpuAddress());
            addU64(cells, r.size());
        }
        return cells.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Each entry: child address (3 cells) and pin, parent phandle, parent address (zeros) and interrupt. */
    private int[] intxCells() {
        List<Integer> cells = new ArrayList<>();
        for (IntxRoute r : intx) {
            cells.add(r.device() << 11);
            cells.add(0);
            cells.add(0);
            cells.add(r.pin());
            cells.add(r.parentPhandle());
            for (int i = 0; i < r.parentAddressCells(); i++) {
                cells.add(0);
            }
            cells.addAll(r.parentInterrupt());
        }
        return cells.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void addU64(List<Integer> cells, long v) {
        cells.add((int) (v >>> 32));
        cells.add((int) v);
    }
}
