package dev.mesovirt.vmm.vhost;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.virtio.VirtioDevice.QueueInterrupt;
import dev.mesovirt.vmm.virtio.VirtioException;
import dev.mesovirt.vmm.virtio.Virtqueue;
import java.util.List;

/**
 * What one type of vhost device adds to {@link VhostDevice}: its virtio type, feature bits and configuration space,
 * which of its queues the back-end serves, the work of the queues this VMM keeps, and its start and stop requests.
 * Called under the transport's lock, like a {@link dev.mesovirt.vmm.virtio.VirtioDevice}.
 */
public interface VhostDeviceModel {
    /** Virtio device ID. */
    int deviceType();

    /** The device-specific feature bits to offer, out of {@code backendFeatures} (what the back-end supports). */
    long features(long backendFeatures);

    /** Maximum size of each queue; the list's length is the number of queues. */
    List<Integer> queueSizes();

    /** Whether the back-end serves queue {@code index}; otherwise {@link #process} does, on the device's thread. */
    boolean backendQueue(int index);

    /** The device-specific configuration space, read at {@code offset}. */
    void readConfig(long offset, byte[] data);

    /** A driver write to the configuration space; ignored by default. */
    default void writeConfig(long offset, byte[] data) {}

    /** The back-end's rings are set up: start the device (vhost-vsock: VHOST_VSOCK_SET_RUNNING 1). */
    default void start() throws VhostException {}

    /** Before the back-end's rings are taken back: stop the device (vhost-vsock: VHOST_VSOCK_SET_RUNNING 0). */
    default void stop() throws VhostException {}

    /** The queues this VMM serves went live (DRIVER_OK); {@code queues} holds every queue, by index. */
    default void activate(GuestMemory memory, List<Virtqueue> queues, QueueInterrupt interrupt) {}

    /** A notification of a queue this VMM serves. */
    default void process(int index) throws VirtioException {}

    /** The driver reset the device: forget the queues this VMM serves. */
    default void reset() {}

    /** The device goes away; the back-end is closed after this. */
    default void close() {}
}
