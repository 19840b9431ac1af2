package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;

/**
 * A virtio device behind a transport ({@link MmioTransport}). The transport handles feature negotiation, status and
 * queue set-up; the device supplies its type, features, config space and the queue work. {@link #process} runs on
 * the device's own thread only; the other methods on vCPU threads under the transport's lock.
 */
public interface VirtioDevice extends AutoCloseable {
    /** Virtio device ID (1 net, 2 block, 3 console, 4 entropy). */
    int deviceType();

    /** Device-specific feature bits (the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX). */
    long features();

    /** Maximum size of each queue; the list's length is the number of queues. */
    List<Integer> queueSizes();

    /** The device-specific configuration space, read at {@code offset}. Out-of-range bytes read as 0. */
    void readConfig(long offset, byte[] data);

    /** A driver write to the configuration space; ignored by default. */
    default void writeConfig(long offset, byte[] data) {}

    /**
     * The driver set DRIVER_OK: the queues are live. {@code interrupt} raises the used-buffer interrupt of a queue
     * (subject to the driver's suppression); it may be called from any thread.
     */
    void activate(GuestMemory memory, List<Virtqueue> queues, long ackedFeatures, QueueInterrupt interrupt);

    /**
     * Handles a notification of queue {@code index} on the device's thread. A malformed chain is thrown as a
     * {@link VirtioException}: the transport then sets DEVICE_NEEDS_RESET. A request that is well formed but
     * cannot be served (I/O error, unsupported type) is answered with the device's error status instead.
     */
    void process(int index) throws VirtioException;

    /** The driver reset the device: forget the queues and any in-flight state. */
    void reset();

    /**
     * Eventfds the device's backend signals when it has work for a queue (e.g. input arrived): the device's thread
     * then runs {@link #process} for that queue, as for a guest notification.
     */
    default List<Watch> watches() {
        return List.of();
    }

    @Override
    default void close() {}

    /** A used-buffer interrupt for queue {@code index} (the transport checks suppression and signals). */
    @FunctionalInterface
    interface QueueInterrupt {
        void usedBuffers(int index);
    }

    /** An eventfd whose signal means "process queue {@code queue}". */
    record Watch(dev.mesovirt.vmm.sys.EventFd eventFd, int queue) {}
}
