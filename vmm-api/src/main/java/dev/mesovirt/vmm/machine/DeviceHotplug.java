package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpException;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How a machine adds and removes devices while it runs, for QMP's device_add and device_del. {@link MachineQmp} does
 * what is the same on every machine (the arguments every device has, the backends blockdev-add and netdev_add keep,
 * the DEVICE_DELETED event); the machine does where the device goes: the microVM fills and empties its replaceable
 * virtio-mmio slots at once, a PCI machine plugs devices into root ports, where a removal completes only once the
 * guest has released the device, later and on another thread.
 *
 * <p>Called on the QMP client's thread, one command at a time, while the machine has started and not stopped (the
 * machine checks again under its own lock).
 */
public interface DeviceHotplug {
    /** What a hot-plugged device is built on: a blockdev-add drive or a netdev_add TAP. */
    enum Kind { BLOCK, NET }

    /**
     * A device_add driver this machine takes.
     *
     * @param name the driver's QEMU name, as errors list it (virtio-blk-mmio, virtio-net-pci...)
     * @param aliases other names device_add accepts for it
     * @param kind the backend it is built on
     */
    record Driver(String name, List<String> aliases, Kind kind) {
        public Driver {
            Objects.requireNonNull(name, "name");
            aliases = List.copyOf(aliases);
            Objects.requireNonNull(kind, "kind");
        }

        /** Whether device_add's {@code driver} names this one. */
        public boolean isNamed(String driver) {
            return name.equals(driver) || aliases.contains(driver);
        }
    }

    /** The drivers device_add takes here. */
    List<Driver> drivers();

    /**
     * Reads from device_add's arguments where the device goes (the microVM's {@code addr}; a PCI machine's
     * {@code bus} and {@code addr}). Called before the arguments every device has are read, so that errors come in
     * QEMU's order; fails as QEMU's argument checks do (a missing member, a wrong type).
     */
    DevicePlacement placement(QmpArguments args) throws QmpException;

    /**
     * Plugs in {@code device}, whose {@link VirtioConfig#placement()} is what {@link #placement} returned. The
     * device's descriptors (a TAP passed with getfd) are the machine's from this call on, whether it succeeds or
     * not: a device refused is closed. The error's description is the reply's.
     */
    void add(VirtioConfig device) throws QmpException;

    /**
     * Starts removing device {@code id}. Once the device is gone, with its backend closed, the machine calls
     * {@code removed} with what it was, exactly once: before returning (the microVM), or later from another thread (a
     * PCI machine, once the guest has let it go), then holding no lock that {@link #add} or {@link #remove} takes.
     * Throws DeviceNotFound for an id the machine does not hold, a GenericError for a device it cannot remove.
     */
    void remove(String id, Consumer<VirtioConfig> removed) throws QmpException;

    /** The devices the machine holds now: from the command line and hot-plugged. */
    List<VirtioConfig> devices();

    /**
     * {@link #add}'s common part: runs the board's {@code plug} with {@code device} while {@code machine} runs. The
     * device's passed descriptor is the board's once {@code plug} has it; if the machine stopped before that, it is
     * closed here. The board's refusal (IllegalArgumentException, IllegalStateException) becomes the reply's
     * GenericError.
     */
    static void plugWhileRunning(Machine machine, VirtioConfig device, Consumer<VirtioConfig> plug) throws QmpException {
        boolean[] handedOver = {false};
        try {
            machine.whileRunning(() -> {
                handedOver[0] = true;
                plug.accept(device);
                return null;
            });
        } catch (IllegalArgumentException | IllegalStateException e) {
            if (!handedOver[0]) {
                VirtioDevices.closePassedDescriptor(device);
            }
            throw QmpException.generic(e.getMessage());
        }
    }
}
