package dev.mesovirt.vmm.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.PciLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The firmware's assignment of bus numbers, BARs and bridge windows. */
class ResourceAssignmentTest {
    final Fakes.Root r = new Fakes.Root();
    final Fakes.Region region = new Fakes.Region();

    Fakes.Endpoint virtioLike() {
        return new Fakes.Endpoint(1, Map.of(1, Bar.memory32(0x1000, region),
                4, Bar.memory64(0x4000, true, region, Bar.Listener.NONE)));
    }

    PcieRootPort port(int n) {
        return new PcieRootPort(r.root, n, PcieRootPort.Reserve.DEFAULT, f -> {});
    }

    @Test
    void busesBarsWindowsAndCommand() {
        Fakes.Endpoint onRoot = new Fakes.Endpoint(1, Map.of(0, Bar.io(0x40, region), 1, Bar.memory32(0x2000, region),
                2, Bar.memory64(0x10_0000, true, region, Bar.Listener.NONE)));
        r.root.bus().attach(1, 0, onRoot);
        PcieRootPort p1 = port(1);
        PcieRootPort p2 = port(2);
        r.root.bus().attach(2, 0, p1);
        r.root.bus().attach(3, 0, p2);
        Fakes.Endpoint behind = virtioLike();
        p1.insert(behind);
        r.root.assignResources();

        assertEquals(0x00_01_01_00, r.read(0, 2, 0, 0x18, 4) & 0xffffff, "port 1: primary 0, buses 1..1");
        assertEquals(0x00_02_02_00, r.read(0, 3, 0, 0x18, 4) & 0xffffff, "port 2: buses 2..2");
        // Root-bus BARs: naturally aligned, in the right windows, mapped.
        long io = onRoot.header().mappedAddress(0);
        long mem = onRoot.header().mappedAddress(1);
        long pref = onRoot.header().mappedAddress(2);
        assertTrue(io >= 0xc000 && io < 0x10000 && io % 0x40 == 0, Long.toHexString(io));
        assertTrue(mem >= 0xc000_0000L && mem < 0xfea0_0000L && mem % 0x2000 == 0, Long.toHexString(mem));
        assertTrue(pref >= 16L << 30 && pref % 0x10_0000 == 0, Long.toHexString(pref));
        assertEquals(PciHeader.COMMAND_IO | PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER,
                r.read(0, 1, 0, 4, 2) & 7);
        // Behind port 1: its windows hold the device's BARs and the hot-plug reserve.
        long memBase = (r.read(0, 2, 0, 0x20, 2) & 0xfff0L) << 16;
        long memLimit = ((r.read(0, 2, 0, 0x22, 2) & 0xfff0L) << 16) | 0xfffff;
        long prefBase = (r.read(0, 2, 0, 0x24, 2) & 0xfff0L) << 16 | (r.read(0, 2, 0, 0x28, 4) & 0xffffffffL) << 32;
        long prefLimit = ((r.read(0, 2, 0, 0x26, 2) & 0xfff0L) << 16 | 0xfffff)
                | (r.read(0, 2, 0, 0x2c, 4) & 0xffffffffL) << 32;
        assertEquals(2L << 20, memLimit - memBase + 1, "2 MiB reserve covers the 4 KiB BAR");
        assertEquals(64L << 20, prefLimit - prefBase + 1);
        assertEquals(1, r.read(0, 2, 0, 0x24, 2) & 0xf, "64-bit prefetchable window");
        long b1 = behind.header().mappedAddress(1);
        long b4 = behind.header().mappedAddress(4);
        assertTrue(b1 >= memBase && b1 + 0x1000 <= memLimit + 1 && b1 % 0x1000 == 0);
        assertTrue(b4 >= prefBase && b4 + 0x4000 <= prefLimit + 1 && b4 % 0x4000 == 0);
        assertEquals(0xf0, r.read(0, 2, 0, 0x1c, 2) & 0xffff, "no I/O window: base above limit");
        assertEquals(PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER, r.read(0, 2, 0, 4, 2) & 7);
        assertEquals(PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_BUS_MASTER, r.read(1, 0, 0, 4, 2) & 7);
        // The empty port gets the reserve alone, not overlapping port 1.
        long mem2 = (r.read(0, 3, 0, 0x20, 2) & 0xfff0L) << 16;
        assertTrue(mem2 > memLimit || mem2 + (2 << 20) <= memBase);
        // Every BAR mapped without an overlap: the mapper's bus would have refused one.
        assertEquals(5, r.mapper.log.stream().filter(s -> s.startsWith("map")).count());

        // Machine reset, then assignment again: the same result.
        List<String> before = new ArrayList<>(List.of(Long.toHexString(b1), Long.toHexString(b4)));
        r.root.reset();
        assertEquals(0, r.read(0, 2, 0, 0x18, 4) & 0xffffff, "bus numbers cleared");
        assertEquals(-1, behind.header().mappedAddress(1));
        r.root.assignResources();
        assertEquals(before, List.of(Long.toHexString(behind.header().mappedAddress(1)),
                Long.toHexString(behind.header().mappedAddress(4))));
    }

    @Test
    void outOfSpaceIsAClearError() {
        PciLayout small = new PciLayout(0xb000_0000L, 4, Optional.empty(), new PciLayout.Window(0xc000_0000L, 1 << 20),
                Optional.empty(), false, PciLayout.HostBridgeId.Q35_MCH);
        PciRoot root = new PciRoot(small, List.of(l -> {}, l -> {}, l -> {}, l -> {}), new Fakes.Mapper(),
                new Fakes.Msi());
        root.bus().attach(1, 0, new Fakes.Endpoint(1, Map.of(0, Bar.memory32(1 << 20, region))));
        root.bus().attach(2, 0, new Fakes.Endpoint(1, Map.of(0, Bar.memory32(0x1000, region))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, root::assignResources);
        assertTrue(e.getMessage().contains("32-bit memory window"), e.getMessage());
        PciRoot noIo = new PciRoot(small, List.of(l -> {}, l -> {}, l -> {}, l -> {}), new Fakes.Mapper(),
                new Fakes.Msi());
        noIo.bus().attach(1, 0, new Fakes.Endpoint(1, Map.of(0, Bar.io(0x10, region))));
        assertTrue(assertThrows(IllegalArgumentException.class, noIo::assignResources).getMessage()
                .contains("no port I/O window"));
        PciRoot fewBuses = new PciRoot(small, List.of(l -> {}, l -> {}, l -> {}, l -> {}), new Fakes.Mapper(),
                new Fakes.Msi());
        for (int i = 1; i <= 4; i++) {
            fewBuses.bus().attach(i, 0, new PcieRootPort(fewBuses, i, PcieRootPort.Reserve.NONE, f -> {}));
        }
        assertTrue(assertThrows(IllegalArgumentException.class, fewBuses::assignResources).getMessage()
                .contains("bus numbers run out"));
    }

    @Test
    void withoutA64BitWindowPrefetchableBarsGoBelow4GiB() {
        PciLayout low = new PciLayout(0xb000_0000L, 16, Optional.empty(),
                new PciLayout.Window(0xc000_0000L, 0x1000_0000L), Optional.empty(), false,
                PciLayout.HostBridgeId.Q35_MCH);
        Fakes.Mapper mapper = new Fakes.Mapper();
        PciRoot root = new PciRoot(low, List.of(l -> {}, l -> {}, l -> {}, l -> {}), mapper, new Fakes.Msi());
        Fakes.Endpoint e = virtioLike();
        root.bus().attach(1, 0, e);
        root.assignResources();
        long a1 = e.header().mappedAddress(1);
        long a4 = e.header().mappedAddress(4);
        assertTrue(a4 >= 0xc000_0000L && a4 + 0x4000 <= 0xd000_0000L && a4 % 0x4000 == 0);
        assertTrue(a4 >= a1 + 0x1000 || a4 + 0x4000 <= a1, "no overlap");
    }
}
