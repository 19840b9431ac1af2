package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.machine.VirtioConfig;
import java.util.Objects;
import java.util.Optional;

/**
 * A virtio-mmio slot of a running {@link LightMachine}, as QMP reports it.
 *
 * @param index the slot's position in the machine's virtio-mmio window
 * @param base its guest-physical register address
 * @param gsi its interrupt
 * @param kind whether it is fixed (a command-line device) or a replaceable hot-plug slot, and for which devices
 * @param addr for a hot-plug slot, its number in device_add's {@code addr}; -1 otherwise
 * @param device what it holds now
 */
public record DeviceSlot(int index, long base, int gsi, Kind kind, int addr, Optional<VirtioConfig> device) {
    public enum Kind { FIXED, HOTPLUG_BLOCK, HOTPLUG_NET }

    public DeviceSlot {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(device, "device");
    }
}
