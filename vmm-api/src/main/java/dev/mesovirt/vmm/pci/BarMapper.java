package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.bus.BusDevice;

/**
 * Places BARs on the host's buses; the machine implements it over its port-I/O and MMIO buses. Called as the guest
 * (or the firmware's resource assignment) programs a BAR and enables its decoding, from the thread that wrote the
 * configuration register.
 */
public interface BarMapper {
    /**
     * Maps {@code region} at [address, address + size) of {@code space}. Throws {@link IllegalArgumentException}
     * when the range overlaps something already there (as {@link dev.mesovirt.vmm.bus.Bus#insert} does): the BAR then
     * stays unmapped.
     */
    void map(BusKind space, long address, long size, BusDevice region, String name);

    /** Removes {@code region}, which {@link #map} put at {@code address}. */
    void unmap(BusKind space, long address, BusDevice region);
}
