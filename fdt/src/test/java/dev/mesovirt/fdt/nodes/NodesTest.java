package dev.mesovirt.fdt.nodes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.fdt.DeviceTree;
import dev.mesovirt.fdt.FdtNode;
import dev.mesovirt.fdt.FdtProperty;
import dev.mesovirt.fdt.FdtWriter;
import dev.mesovirt.fdt.OpenNode;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Each node as the reader sees it: names, properties in order, values. */
class NodesTest {
    /** A root (two address and size cells) holding what {@code body} writes. */
    private static DeviceTree tree(Consumer<FdtWriter> body) {
        FdtWriter fdt = new FdtWriter();
        OpenNode root = fdt.beginNode("");
        fdt.propertyU32("#address-cells", 2);
        fdt.propertyU32("#size-cells", 2);
        body.accept(fdt);
        fdt.endNode(root);
        return DeviceTree.parse(fdt.finish());
    }

    private static List<String> names(FdtNode node) {
        return node.properties().stream().map(FdtProperty::name).toList();
    }

    @Test
    void memoryIsNamedAfterItsFirstRangeAndListsThemAll() {
        FdtNode m = tree(new MemoryNode(List.of(new MemoryNode.Range(0x4000_0000L, 0x1000_0000L),
                new MemoryNode.Range(0x1_0000_0000L, 0x2000)))::writeTo).node("/memory@40000000");
        assertEquals(List.of("device_type", "reg"), names(m));
        assertEquals("memory", m.property("device_type").orElseThrow().asString());
        assertArrayEquals(new long[] {0x4000_0000L, 0x1000_0000L, 0x1_0000_0000L, 0x2000},
                m.property("reg").orElseThrow().asU64Array());
        assertThrows(IllegalArgumentException.class, () -> new MemoryNode(List.of()));
    }

    @Test
    void chosenWritesTheInitrdAndTheSeedOnlyWhenThereAreSome() {
        byte[] seed = {1, 2, 3};
        FdtNode full = tree(new ChosenNode("console=ttyS0", "/uart@9000000", Optional.of(0x4800_0000L), 0x1234, seed)
                ::writeTo).node("/chosen");
        assertEquals(List.of("bootargs", "stdout-path", "linux,initrd-start", "linux,initrd-end", "rng-seed"),
                names(full));
        assertEquals("/uart@9000000", full.property("stdout-path").orElseThrow().asString());
        assertEquals(0x4800_1234L, full.property("linux,initrd-end").orElseThrow().asU64());
        assertArrayEquals(seed, full.property("rng-seed").orElseThrow().value());

        FdtNode bare = tree(new ChosenNode("", "/serial@10000000", Optional.of(0x4800_0000L), 0, new byte[0])
                ::writeTo).node("/chosen");
        assertEquals(List.of("bootargs", "stdout-path"), names(bare));
        FdtNode noStart = tree(new ChosenNode("", "/s@0", Optional.empty(), 100, seed)::writeTo).node("/chosen");
        assertFalse(noStart.property("linux,initrd-start").isPresent());
    }

    @Test
    void uartWithAnInheritedOrANamedInterruptParent() {
        Ns16550Node gic = new Ns16550Node("uart", 0x0900_0000L, 8, 0, Interrupts.inherited(0, 0, 4));
        assertEquals("uart@9000000", gic.nodeName());
        FdtNode u = tree(gic::writeTo).node("/uart@9000000");
        assertEquals(List.of("compatible", "reg", "reg-shift", "clock-frequency", "interrupts"), names(u));
        assertEquals("ns16550a", u.property("compatible").orElseThrow().asString());
        assertArrayEquals(new long[] {0x0900_0000L, 8}, u.property("reg").orElseThrow().asU64Array());
        assertEquals(1_843_200, u.property("clock-frequency").orElseThrow().asU32());
        assertArrayEquals(new int[] {0, 0, 4}, u.property("interrupts").orElseThrow().asU32Array());

        FdtNode a = tree(new Ns16550Node("serial", 0x1000_0000L, 32, 2, Interrupts.of(7, 1, 4))::writeTo)
                .node("/serial@10000000");
        assertEquals(List.of("compatible", "reg", "reg-shift", "clock-frequency", "interrupt-parent", "interrupts"),
                names(a));
        assertEquals(2, a.property("reg-shift").orElseThrow().asU32());
        assertEquals(7, a.property("interrupt-parent").orElseThrow().asU32());
        assertArrayEquals(new int[] {1, 4}, a.property("interrupts").orElseThrow().asU32Array());
    }

    @Test
    void virtioSlotsAreDmaCoherent() {
        FdtNode v = tree(new VirtioMmioNode(0x1001_0200L, 0x200, Interrupts.of(5, 3, 1))::writeTo)
                .node("/virtio_mmio@10010200");
        assertEquals(List.of("compatible", "reg", "interrupt-parent", "interrupts", "dma-coherent"), names(v));
        assertEquals("virtio,mmio", v.property("compatible").orElseThrow().asString());
        assertArrayEquals(new int[] {3, 1}, v.property("interrupts").orElseThrow().asU32Array());
        assertEquals(List.of(1, 2), Interrupts.inherited(1, 2).cells());
    }
}
