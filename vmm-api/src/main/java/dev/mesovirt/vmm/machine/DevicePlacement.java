package dev.mesovirt.vmm.machine;

import java.util.Objects;

/**
 * Where a device goes in its machine when it is not simply the next free place: each machine takes the kind it has
 * and refuses the others.
 */
public sealed interface DevicePlacement {
    /**
     * One of the microVM's replaceable virtio-mmio slots (StratoVirt's hot-plug model): number {@code addr} among the
     * slots reserved for devices of its kind, as QMP device_add's {@code addr} names it. The machine, which knows how
     * many it has, checks the number.
     */
    record HotplugSlot(int addr) implements DevicePlacement {
    }

    /**
     * A slot on a standard machine's PCI hierarchy: device {@code slot}, function {@code function} of the bus with id
     * {@code bus} (a root port's, or the root bus's), as {@code -device ...,bus=ID,addr=SLOT[.FUNCTION]} and QMP
     * device_add give it.
     */
    record Pci(String bus, int slot, int function) implements DevicePlacement {
        public Pci {
            Objects.requireNonNull(bus, "bus");
            if (slot < 0 || slot > 31 || function < 0 || function > 7) {
                throw new IllegalArgumentException("PCI address " + slot + "." + function + " out of range 0..31.0..7");
            }
        }
    }
}
