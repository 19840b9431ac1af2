package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.pci.BarMapper;

/**
 * PCI BARs on the machine's port-I/O and MMIO buses, as the guest (or the firmware's assignment) programs them. A
 * range that overlaps another is refused by {@link Bus#insert} with IllegalArgumentException, which the PCI library
 * turns into an unmapped BAR. A machine reset gives new buses.
 */
final class BusBarMapper implements BarMapper {
    private volatile Bus pio;
    private volatile Bus mmio;

    BusBarMapper(Bus pio, Bus mmio) {
        this.pio = pio;
        this.mmio = mmio;
    }

    void moveTo(Bus newPio, Bus newMmio) {
        pio = newPio;
        mmio = newMmio;
    }

    @Override
    public void map(BusKind space, long address, long size, BusDevice region, String name) {
        bus(space).insert(address, size, region, name);
    }

    @Override
    public void unmap(BusKind space, long address) {
        bus(space).remove(address);
    }

    private Bus bus(BusKind space) {
        return space == BusKind.PIO ? pio : mmio;
    }
}
