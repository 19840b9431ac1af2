package dev.mesovirt.fdt.nodes;

import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import java.util.Objects;

/**
 * A 16550 UART on MMIO ({@code ns16550a}).
 *
 * @param name the node name before the unit address ({@code uart} as QEMU's arm64 virt, {@code serial} as riscv64's)
 * @param size bytes of the register window (8 registers, {@code 1 << registerShift} apart)
 */
public record Ns16550Node(String name, long base, long size, int registerShift, Interrupts interrupts) {
    /** The input clock: 1.8432 MHz, the classic PC UART crystal (115200 baud × 16). */
    public static final int CLOCK_HZ = 1_843_200;

    public Ns16550Node {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(interrupts, "interrupts");
    }

    /** The node's name with its unit address, e.g. {@code uart@9000000}: {@code stdout-path} is "/" and this. */
    public String nodeName() {
        return name + "@" + Long.toHexString(base);
    }

    public void writeTo(FdtWriter fdt) {
        OpenNode node = fdt.beginNode(nodeName());
        fdt.propertyString("compatible", "ns16550a");
        fdt.propertyU64Array("reg", base, size);
        fdt.propertyU32("reg-shift", registerShift);
        fdt.propertyU32("clock-frequency", CLOCK_HZ);
        interrupts.writeTo(fdt);
        fdt.endNode(node);
    }
}
