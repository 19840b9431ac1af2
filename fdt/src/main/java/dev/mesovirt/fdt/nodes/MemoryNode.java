package dev.mesovirt.fdt.nodes;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import java.util.List;

/**
 * The guest's RAM: one {@code memory@} node, named after the first range, whose {@code reg} lists every range
 * (two address and two size cells each, as the root of a 64-bit machine declares).
 */
public record MemoryNode(List<Range> ranges) {
    public MemoryNode {
        ranges = List.copyOf(ranges);
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("a memory node needs a range");
        }
    }

    /** {@code size} bytes of RAM from guest-physical {@code base}. */
    public record Range(long base, long size) {}

    public void writeTo(FdtWriter fdt) {
        OpenNode memory = fdt.beginNode("memory@" + Long.toHexString(ranges.get(0).base()));
        fdt.propertyString("device_type", "memory");
        long[] reg = new long[2 * ranges.size()];
        for (int i = 0; i < ranges.size(); i++) {
            reg[2 * i] = ranges.get(i).base();
            reg[2 * i + 1] = ranges.get(i).size();
        }
        fdt.propertyU64Array("reg", reg);
        fdt.endNode(memory);
    }
}
