package dev.mesovirt.vmm.arch;

import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.pci.PciFunction;

/**
 * A function of the standard machine's chipset on the root bus beside the host bridge, which firmware programs
 * (x86 q35: the ICH9 LPC bridge at 00:1f.0 with the ACPI PM base). It may decode port I/O where the guest puts it:
 * {@link #placePorts} hands it each VM's port bus.
 */
public record ChipsetFunction(int slot, int function, PciFunction device, PortDecoder ports) {
    /** What a chipset function decodes on the port bus. */
    @FunctionalInterface
    public interface PortDecoder {
        PortDecoder NONE = pio -> { };

        /** The function's ports go on {@code pio} (a new VM's bus after a machine reset), as its registers say. */
        void placeOn(Bus pio);
    }

    public void placePorts(Bus pio) {
        ports.placeOn(pio);
    }
}
