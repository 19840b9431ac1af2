package dev.mesovirt.vmm.arch;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import java.util.Optional;

/**
 * An architecture's guest-physical map for one machine: where RAM lies (possibly split around holes), the window
 * of virtio-mmio slots (the microVM's), the PCI host bridge (the standard machine's), and where the first UART sits.
 *
 * @param ram the RAM regions, ascending
 * @param virtioMmioBase guest-physical address of virtio-mmio slot 0
 * @param virtioMmioSlotSize bytes per slot (0x200 is the virtio-mmio register block rounded up)
 * @param virtioMmioSlots how many slots the window holds (0: none)
 * @param serial where the 16550 UART is
 * @param pci the PCI Express host bridge's windows, on a standard machine
 */
public record MemoryLayout(
        List<GuestMemory.Region> ram,
        long virtioMmioBase,
        long virtioMmioSlotSize,
        int virtioMmioSlots,
        SerialPlacement serial,
        Optional<PciLayout> pci) {

    public MemoryLayout {
        ram = List.copyOf(ram);
        if (ram.isEmpty()) {
            throw new IllegalArgumentException("a machine needs RAM");
        }
        java.util.Objects.requireNonNull(pci, "pci");
    }

    /** A layout without PCI (a microVM's). */
    public MemoryLayout(List<GuestMemory.Region> ram, long virtioMmioBase, long virtioMmioSlotSize, int virtioMmioSlots,
            SerialPlacement serial) {
        this(ram, virtioMmioBase, virtioMmioSlotSize, virtioMmioSlots, serial, Optional.empty());
    }

    /** The guest-physical address of virtio-mmio slot {@code index}. */
    public long virtioMmioSlot(int index) {
        if (index < 0 || index >= virtioMmioSlots) {
            throw new IllegalArgumentException("virtio-mmio slot " + index + " out of range 0.." + (virtioMmioSlots - 1));
        }
        return virtioMmioBase + index * virtioMmioSlotSize;
    }

    public long ramSize() {
        return ram.stream().mapToLong(GuestMemory.Region::size).sum();
    }

    /**
     * Where the UART's 8 registers are (I/O port base on x86, MMIO address elsewhere) and how it is wired.
     *
     * @param out2Gated whether the modem control register's OUT2 bit gates the UART's interrupt output, as on PCs
     *     (see {@link dev.mesovirt.vmm.device.Uart16550}); MMIO UARTs of other platforms have no such gate
     * @param model the UART's register interface (a PL011 ignores {@code registerShift} and {@code out2Gated})
     */
    public record SerialPlacement(BusKind bus, long base, int registerShift, boolean out2Gated, UartModel model) {
        public SerialPlacement {
            java.util.Objects.requireNonNull(model, "model");
        }

        /** A 16550. */
        public SerialPlacement(BusKind bus, long base, int registerShift, boolean out2Gated) {
            this(bus, base, registerShift, out2Gated, UartModel.NS16550);
        }
    }
}
