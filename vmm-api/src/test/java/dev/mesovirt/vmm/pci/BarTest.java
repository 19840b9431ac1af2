package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** BAR sizing and relocation as a guest drives them, seen through a recording {@link BarMapper}. */
class BarTest {
    final Fakes.Root r = new Fakes.Root();
    final Fakes.Region region = new Fakes.Region();
    final List<String> moves = new ArrayList<>();
    final Bar.Listener listener = new Bar.Listener() {
        @Override
        public void mapped(long address) {
            moves.add("+" + Long.toHexString(address));
        }

        @Override
        public void unmapped(long address) {
            moves.add("-" + Long.toHexString(address));
        }
    };

    Fakes.Endpoint attach(int device, Map<Integer, Bar> bars) {
        Fakes.Endpoint e = new Fakes.Endpoint(1, bars);
        r.root.bus().attach(device, 0, e);
        return e;
    }

    @Test
    void sizingReadsBackTheSizeMaskAndTypeBits() {
        attach(1, Map.of(0, Bar.io(0x20, region), 1, Bar.memory32(0x1000, region),
                2, Bar.memory64(0x4000, true, region, listener),
                4, new Bar(Bar.Type.MEMORY64, false, 0x2_0000_0000L, region, Bar.Listener.NONE)));
        for (int i = 0; i < 6; i++) {
            r.write(0, 1, 0, 0x10 + 4 * i, 4, -1);
        }
        assertEquals(0xffff_ffe1, r.read(0, 1, 0, 0x10, 4), "I/O, 32 ports");
        assertEquals(0xffff_f000, r.read(0, 1, 0, 0x14, 4), "32-bit memory, 4 KiB");
        assertEquals(0xffff_c00c, r.read(0, 1, 0, 0x18, 4), "64-bit prefetchable, 16 KiB");
        assertEquals(0xffff_ffff, r.read(0, 1, 0, 0x1c, 4));
        assertEquals(0x0000_0004, r.read(0, 1, 0, 0x20, 4), "8 GiB: the low half has no address bits");
        assertEquals(0xffff_fffe, r.read(0, 1, 0, 0x24, 4));
        assertTrue(r.mapper.log.isEmpty(), "decoding is off: nothing mapped while sizing");
        assertThrows(IllegalArgumentException.class, () -> Bar.memory32(0x1800, region));
        assertThrows(IllegalArgumentException.class, () -> new Fakes.Endpoint(0,
                Map.of(5, Bar.memory64(0x1000, false, region, Bar.Listener.NONE))));
    }

    @Test
    void relocationFollowsAddressAndCommand() {
        attach(2, Map.of(0, Bar.io(0x20, region), 1, Bar.memory32(0x1000, region)));
        r.write(0, 2, 0, 0x10, 4, 0xc040);
        r.write(0, 2, 0, 0x14, 4, 0xc000_1000);
        assertTrue(r.mapper.log.isEmpty());
        r.write(0, 2, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        assertEquals(List.of("map MMIO 0xc0001000+0x1000"), r.mapper.log);
        r.write(0, 2, 0, 0x04, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_IO);
        assertEquals("map PIO 0xc040+0x20", r.mapper.last());
        // Accesses reach the region at offsets from the BAR.
        r.mapper.mmio.write(0xc000_1008L, new byte[] {5, 0, 0, 0});
        assertEquals(8, region.lastOffset);
        assertEquals(5, region.lastValue);
        // Moving the BAR while enabled: unmap the old place, map the new one.
        r.write(0, 2, 0, 0x14, 4, 0xc000_3000);
        assertEquals(List.of("unmap MMIO 0xc0001000", "map MMIO 0xc0003000+0x1000"),
                r.mapper.log.subList(r.mapper.log.size() - 2, r.mapper.log.size()));
        // Address 0: unmapped.
        r.write(0, 2, 0, 0x10, 4, 0);
        assertEquals("unmap PIO 0xc040", r.mapper.last());
        // An I/O BAR past 0xffff is not mapped.
        r.write(0, 2, 0, 0x10, 4, 0x1_0000);
        assertEquals("unmap PIO 0xc040", r.mapper.last());
        r.write(0, 2, 0, 0x04, 2, 0);
        assertEquals("unmap MMIO 0xc0003000", r.mapper.last());
    }

    @Test
    void sixtyFourBitBarMovesOnlyWhenBothHalvesAreWritten() {
        Fakes.Endpoint e = attach(3, Map.of(2, Bar.memory64(0x4000, true, region, listener)));
        r.write(0, 3, 0, 0x18, 4, 0x0);
        r.write(0, 3, 0, 0x1c, 4, 0x4);
        r.write(0, 3, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        assertEquals(List.of("map MMIO 0x400000000+0x4000"), r.mapper.log);
        assertEquals(0x4_0000_0000L, e.header().mappedAddress(2));
        r.write(0, 3, 0, 0x18, 4, 0x8000_0000);
        assertEquals(1, r.mapper.log.size(), "low half alone: not moved");
        r.write(0, 3, 0, 0x1c, 4, 0x5);
        assertEquals(List.of("map MMIO 0x400000000+0x4000", "unmap MMIO 0x400000000",
                "map MMIO 0x580000000+0x4000"), r.mapper.log);
        assertEquals(List.of("+400000000", "-400000000", "+580000000"), moves);
        // One 8-byte ECAM write programs both halves.
        byte[] b = new byte[8];
        PciRoot.store(b, 0, 4, 0x1000_0000);
        PciRoot.store(b, 4, 4, 0x6);
        r.root.ecam().write(3L << 15 | 0x18, b);
        assertEquals(0x6_1000_0000L, e.header().mappedAddress(2));
    }

    @Test
    void overlappingBarStaysUnmappedWithoutAnException() {
        Fakes.Endpoint a = attach(4, Map.of(0, Bar.memory32(0x2000, region)));
        Fakes.Endpoint b = attach(5, Map.of(0, Bar.memory32(0x1000, region)));
        r.write(0, 4, 0, 0x10, 4, 0xc000_0000);
        r.write(0, 4, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        r.write(0, 5, 0, 0x10, 4, 0xc000_1000);
        r.write(0, 5, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        assertEquals(0xc000_0000L, a.header().mappedAddress(0));
        assertEquals(-1, b.header().mappedAddress(0), "the later BAR stays unmapped");
        assertEquals(0xc000_1000, r.read(0, 5, 0, 0x10, 4), "the register keeps what the guest wrote");
        // Moving it somewhere free maps it.
        r.write(0, 5, 0, 0x10, 4, 0xc000_4000);
        assertEquals(0xc000_4000L, b.header().mappedAddress(0));
    }

    @Test
    void detachAndResetUnmap() {
        Fakes.Endpoint e = attach(6, Map.of(0, Bar.memory32(0x1000, region)));
        r.write(0, 6, 0, 0x10, 4, 0xc000_0000);
        r.write(0, 6, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        r.root.reset();
        assertEquals("unmap MMIO 0xc0000000", r.mapper.last());
        assertEquals(0, r.read(0, 6, 0, 0x10, 4));
        assertEquals(0, r.read(0, 6, 0, 0x04, 2));
        r.write(0, 6, 0, 0x10, 4, 0xc000_0000);
        r.write(0, 6, 0, 0x04, 2, PciHeader.COMMAND_MEMORY);
        r.root.bus().detach(6, 0);
        assertEquals("unmap MMIO 0xc0000000", r.mapper.last());
        assertEquals(-1, e.header().mappedAddress(0));
        assertEquals(0xffff_ffff, r.read(0, 6, 0, 0, 4));
        assertTrue(!r.mapper.mmio.read(0xc000_0000L, new byte[4]), "nothing answers there any more");
    }

    @Test
    void intxStatusAndDisable() {
        Fakes.Endpoint e = attach(1, Map.of());
        e.header().setIntx(true);
        assertEquals(PciHeader.STATUS_INTERRUPT, r.read(0, 1, 0, 0x06, 2) & PciHeader.STATUS_INTERRUPT);
        assertTrue(r.lines.get(1).level, "device 1 INTA: line (1 + 0) % 4");
        r.write(0, 1, 0, 0x04, 2, PciHeader.COMMAND_INTX_DISABLE);
        assertTrue(!r.lines.get(1).level, "Interrupt Disable masks the pin");
        assertEquals(PciHeader.STATUS_INTERRUPT, r.read(0, 1, 0, 0x06, 2) & PciHeader.STATUS_INTERRUPT,
                "Interrupt Status still says the function wants service");
        r.write(0, 1, 0, 0x04, 2, 0);
        assertTrue(r.lines.get(1).level);
        e.header().setIntx(false);
        assertTrue(!r.lines.get(1).level);
        assertEquals(0, r.read(0, 1, 0, 0x06, 2) & PciHeader.STATUS_INTERRUPT);
        assertEquals(1, r.read(0, 1, 0, 0x3d, 1), "Interrupt Pin INTA");
        r.write(0, 1, 0, 0x3c, 1, 11);
        assertEquals(11, r.read(0, 1, 0, 0x3c, 1), "Interrupt Line is the guest's scratch register");
    }
}
