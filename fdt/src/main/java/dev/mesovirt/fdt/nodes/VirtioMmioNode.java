package dev.mesovirt.fdt.nodes;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import java.util.Objects;

/** One virtio-mmio transport slot ({@code virtio,mmio}), described whether or not a device sits in it. */
public record VirtioMmioNode(long base, long size, Interrupts interrupts) {
    public VirtioMmioNode {
        Objects.requireNonNull(interrupts, "interrupts");
    }

    public void writeTo(FdtWriter fdt) {
        OpenNode node = fdt.beginNode("virtio_mmio@" + Long.toHexString(base));
        fdt.propertyString("compatible", "virtio,mmio");
        fdt.propertyU64Array("reg", base, size);
        interrupts.writeTo(fdt);
        // The VMM reads and writes the rings through the same cacheable mapping of guest RAM that the guest uses.
        fdt.propertyEmpty("dma-coherent");
        fdt.endNode(node);
    }
}
