package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.arch.PciLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The firmware's PCI resource assignment (what SeaBIOS or EDK2 do before booting): bus numbers depth-first, then for
 * each kind of address space the sizes of everything behind each bridge bottom-up, then addresses top-down, largest
 * alignment first so that every BAR is naturally aligned. Programs the registers through the functions' own
 * configuration writes, as the guest would, so that BARs get mapped as they would for the guest.
 */
final class ResourceAssignment {
    /** The three kinds of bridge window. */
    enum Kind {
        IO(4096, "port I/O"),
        MEMORY(1 << 20, "32-bit memory"),
        PREFETCHABLE(1 << 20, "64-bit prefetchable memory");

        final long granularity;
        final String description;

        Kind(long granularity, String description) {
            this.granularity = granularity;
            this.description = description;
        }
    }

    /** Something to place: a BAR, or a bridge's window with what is behind it. */
    private sealed interface Item {
        long size();

        long alignment();
    }

    private record BarItem(PciFunction function, int index, long size) implements Item {
        @Override
        public long alignment() {
            return size;
        }
    }

    private record WindowItem(PciBridge bridge, long size, long alignment, Need inside) implements Item {}

    private record Placed(long offset, Item item) {}

    /** What one bus needs of one kind: items at offsets from a base aligned to {@code alignment}. */
    private record Need(List<Placed> items, long size, long alignment) {}

    private final PciLayout layout;

    ResourceAssignment(PciLayout layout) {
        this.layout = layout;
    }

    void assign(PciBus root) {
        numberBuses(root, new int[] {1});
        Need io = need(root, Kind.IO);
        Need memory = need(root, Kind.MEMORY);
        Need prefetchable = need(root, Kind.PREFETCHABLE);
        if (io.size() > 0) {
            PciLayout.Window w = layout.io().orElseThrow(() -> new IllegalArgumentException(
                    "PCI devices need " + io.size() + " I/O ports but this machine has no port I/O window"));
            place(io, fit(w.base(), w.end(), io, "port I/O window"), Kind.IO);
        }
        long memoryBase = fit(layout.mmio32().base(), layout.mmio32().end(), memory, "32-bit memory window");
        place(memory, memoryBase, Kind.MEMORY);
        Optional<PciLayout.Window> high = layout.mmio64();
        long prefetchableBase = high.isPresent()
                ? fit(high.get().base(), high.get().end(), prefetchable, "64-bit memory window")
                : fit(memoryBase + memory.size(), layout.mmio32().end(), prefetchable,
                        "32-bit memory window (after the non-prefetchable BARs)");
        place(prefetchable, prefetchableBase, Kind.PREFETCHABLE);
        enable(root);
    }

    private static long fit(long base, long end, Need need, String window) {
        long at = alignUp(base, need.alignment());
        if (need.size() > 0 && (at < base || at + need.size() > end)) {
            throw new IllegalArgumentException(String.format(
                    "the PCI %s [0x%x, 0x%x) cannot hold 0x%x bytes of BARs and bridge windows (aligned to 0x%x)",
                    window, base, end, need.size(), need.alignment()));
        }
        return at;
    }

    private void numberBuses(PciBus bus, int[] next) {
        for (PciFunction f : bus.functions()) {
            if (f instanceof PciBridge b) {
                int secondary = next[0]++;
                if (secondary >= layout.buses()) {
                    throw new IllegalArgumentException("PCI bus numbers run out: the ECAM window decodes "
                            + layout.buses() + " buses");
                }
                f.writeConfig(PciHeader.PRIMARY_BUS, 1, bus.number());
                f.writeConfig(PciHeader.SECONDARY_BUS, 1, secondary);
                f.writeConfig(PciHeader.SUBORDINATE_BUS, 1, 0xff);
                closeWindows(b);
                numberBuses(b.secondaryBus(), next);
                f.writeConfig(PciHeader.SUBORDINATE_BUS, 1, next[0] - 1);
            }
        }
    }

    private static Kind kindOf(Bar b) {
        return switch (b.type()) {
            case IO -> Kind.IO;
            case MEMORY32 -> Kind.MEMORY;
            case MEMORY64 -> b.prefetchable() ? Kind.PREFETCHABLE : Kind.MEMORY;
        };
    }

    private Need need(PciBus bus, Kind kind) {
        List<Item> items = new ArrayList<>();
        for (PciFunction f : bus.functions()) {
            PciHeader h = f.header();
            for (int i = 0; i < h.barCount(); i++) {
                Bar b = h.bar(i);
                if (b != null && kindOf(b) == kind) {
                    items.add(new BarItem(f, i, b.size()));
                }
            }
            if (f instanceof PciBridge bridge) {
                Need inside = need(bridge.secondaryBus(), kind);
                long reserve = bridge.hotplugReserve().of(kind);
                long size = Math.max(alignUp(inside.size(), kind.granularity), alignUp(reserve, kind.granularity));
                if (size > 0) {
                    items.add(new WindowItem(bridge, size, Math.max(kind.granularity, inside.alignment()), inside));
                }
            }
        }
        items.sort(Comparator.comparingLong(Item::alignment).thenComparingLong(Item::size).reversed());
        List<Placed> placed = new ArrayList<>();
        long offset = 0;
        long alignment = 1;
        for (Item item : items) {
            offset = alignUp(offset, item.alignment());
            placed.add(new Placed(offset, item));
            offset += item.size();
            alignment = Math.max(alignment, item.alignment());
        }
        return new Need(placed, offset, alignment);
    }

    private void place(Need need, long base, Kind kind) {
        for (Placed p : need.items()) {
            long address = base + p.offset();
            switch (p.item()) {
                case BarItem b -> {
                    int reg = PciHeader.BAR0 + 4 * b.index();
                    b.function().writeConfig(reg, 4, (int) address);
                    if (b.function().header().bar(b.index()).type() == Bar.Type.MEMORY64) {
                        b.function().writeConfig(reg + 4, 4, (int) (address >>> 32));
                    }
                }
                case WindowItem w -> {
                    programWindow(w.bridge(), kind, address, address + w.size() - 1);
                    place(w.inside(), address, kind);
                }
            }
        }
    }

    private static void programWindow(PciBridge b, Kind kind, long base, long last) {
        switch (kind) {
            case IO -> {
                b.writeConfig(PciHeader.IO_BASE, 1, (int) (base >>> 8) & 0xf0);
                b.writeConfig(PciHeader.IO_LIMIT, 1, (int) (last >>> 8) & 0xf0);
            }
            case MEMORY -> {
                b.writeConfig(PciHeader.MEMORY_BASE, 2, (int) (base >>> 16) & 0xfff0);
                b.writeConfig(PciHeader.MEMORY_LIMIT, 2, (int) (last >>> 16) & 0xfff0);
            }
            case PREFETCHABLE -> {
                b.writeConfig(PciHeader.PREF_BASE, 2, (int) (base >>> 16) & 0xfff0);
                b.writeConfig(PciHeader.PREF_LIMIT, 2, (int) (last >>> 16) & 0xfff0);
                b.writeConfig(PciHeader.PREF_BASE_UPPER, 4, (int) (base >>> 32));
                b.writeConfig(PciHeader.PREF_LIMIT_UPPER, 4, (int) (last >>> 32));
            }
        }
    }

    /** Every window closed (base above limit) until {@link #place} opens it. */
    private static void closeWindows(PciBridge b) {
        b.writeConfig(PciHeader.IO_BASE, 2, 0x00f0);
        b.writeConfig(PciHeader.MEMORY_BASE, 4, 0x0000_fff0);
        b.writeConfig(PciHeader.PREF_BASE, 4, 0x0000_fff0);
        b.writeConfig(PciHeader.PREF_BASE_UPPER, 4, 0);
        b.writeConfig(PciHeader.PREF_LIMIT_UPPER, 4, 0);
    }

    /** Decoding and bus mastering on for whatever got addresses. */
    private static void enable(PciBus bus) {
        for (PciFunction f : bus.functions()) {
            PciHeader h = f.header();
            int command = PciHeader.COMMAND_BUS_MASTER;
            for (int i = 0; i < h.barCount(); i++) {
                Bar b = h.bar(i);
                if (b != null) {
                    command |= b.type() == Bar.Type.IO ? PciHeader.COMMAND_IO : PciHeader.COMMAND_MEMORY;
                }
            }
            if (f instanceof PciBridge b) {
                ConfigSpace c = h.config();
                if (c.get8(PciHeader.IO_BASE) <= c.get8(PciHeader.IO_LIMIT)) {
                    command |= PciHeader.COMMAND_IO;
                }
                if (c.get16(PciHeader.MEMORY_BASE) <= c.get16(PciHeader.MEMORY_LIMIT)
                        || (c.get16(PciHeader.PREF_BASE) & 0xfff0) <= (c.get16(PciHeader.PREF_LIMIT) & 0xfff0)) {
                    command |= PciHeader.COMMAND_MEMORY;
                }
                enable(b.secondaryBus());
            }
            f.writeConfig(PciHeader.COMMAND, 2, h.command() | command);
        }
    }

    static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
