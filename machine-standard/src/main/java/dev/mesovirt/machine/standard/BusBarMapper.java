package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.pci.BarMapper;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PCI BARs on the machine's port-I/O and MMIO buses, as the guest (or the firmware's assignment) programs them.
 *
 * <p>A BAR moved onto a range another BAR still holds is kept aside (shadowed) and goes onto the bus once the range
 * is free: a guest that reassigns every BAR (Linux on arm64 with ACPI, over the firmware's assignment) moves them one
 * by one, so for a moment two overlap, as they may on hardware. The BAR already there keeps decoding the range
 * meanwhile. A range that overlaps a device of the machine's own stays shadowed as long as that device is there. A
 * machine reset gives new buses (and nothing shadowed: every BAR is cleared).
 */
final class BusBarMapper implements BarMapper {
    private static final Logger LOG = LoggerFactory.getLogger(BusBarMapper.class);

    /** A BAR that asked for a range held by another. */
    private record Shadowed(BusKind space, long address, long size, BusDevice region, String name) {}

    private Bus pio;
    private Bus mmio;
    private final List<Shadowed> shadowed = new ArrayList<>();

    BusBarMapper(Bus pio, Bus mmio) {
        this.pio = pio;
        this.mmio = mmio;
    }

    synchronized void moveTo(Bus newPio, Bus newMmio) {
        pio = newPio;
        mmio = newMmio;
        shadowed.clear();
    }

    @Override
    public synchronized void map(BusKind space, long address, long size, BusDevice region, String name) {
        try {
            bus(space).insert(address, size, region, name);
        } catch (IllegalArgumentException overlap) {
            LOG.debug("{} waits for its range: {}", name, overlap.getMessage());
            shadowed.add(new Shadowed(space, address, size, region, name));
        }
    }

    @Override
    public synchronized void unmap(BusKind space, long address, BusDevice region) {
        if (shadowed.removeIf(s -> s.region() == region && s.space() == space && s.address() == address)) {
            return; // it never reached the bus
        }
        bus(space).remove(address);
        // The range is free: whatever waited for it goes on, in the order it asked.
        for (java.util.Iterator<Shadowed> it = shadowed.iterator(); it.hasNext(); ) {
            Shadowed s = it.next();
            try {
                bus(s.space()).insert(s.address(), s.size(), s.region(), s.name());
                it.remove();
            } catch (IllegalArgumentException stillOverlapping) {
                // keeps waiting
            }
        }
    }

    /** How many BARs wait for their range (tests). */
    synchronized int shadowedCount() {
        return shadowed.size();
    }

    private Bus bus(BusKind space) {
        return space == BusKind.PIO ? pio : mmio;
    }
}
