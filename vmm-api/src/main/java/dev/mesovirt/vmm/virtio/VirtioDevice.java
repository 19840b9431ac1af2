package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.List;
import java.util.Map;

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

    /**
     * The transport feature bits (VERSION_1, INDIRECT_DESC, EVENT_IDX) the device can work with; all by default. A
     * device whose queues a back-end outside this process's queue code serves (vhost) offers only what the back-end
     * supports.
     */
    default long transportFeatureMask() {
        return -1L;
    }

    /** Maximum size of each queue; the list's length is the number of queues. */
    List<Integer> queueSizes();

    /** The device-specific configuration space, read at {@code offset}. Out-of-range bytes read as 0. */
    void readConfig(long offset, byte[] data);

    /** A driver write to the configuration space; ignored by default. */
    default void writeConfig(long offset, byte[] data) {}

    /**
     * The driver set DRIVER_OK: the queues are live. {@code interrupt} raises the used-buffer interrupt of a queue
     * (subject to the driver's suppression); it may be called from any thread. A device that cannot start (its
     * back-end refused the set-up) throws: the transport then sets DEVICE_NEEDS_RESET.
     */
    void activate(GuestMemory memory, List<Virtqueue> queues, long ackedFeatures, QueueInterrupt interrupt)
            throws VirtioException;

    /** Who serves queue {@code index}: the device's thread (the default), or a back-end given its eventfds. */
    default QueueService queueService(int index) {
        return QueueService.DEVICE_THREAD;
    }

    /**
     * The eventfds of the queues a back-end serves ({@link #queueService} not DEVICE_THREAD), given once when the
     * transport is connected to the device's thread, before any {@link #activate}. The transport owns them.
     */
    default void attach(QueueEventFds eventFds) {}

    /**
     * Where the back-end should signal queue {@code index}'s used buffers from now on: an irqfd that raises the
     * queue's interrupt in the kernel without the VMM (the queue's MSI-X vector while it may deliver), or the queue's
     * call eventfd again (when the vector is masked, changed or MSI-X is off). A running back-end is told at once;
     * otherwise it is given this at the next {@link #activate}. Called by the transport under its lock.
     */
    default void setCallTarget(int index, EventFd target) {}

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

    /**
     * The device's own state beyond its transport and queues, for a snapshot; empty by default: the device is what
     * its command line builds. Called under the transport's lock, with no queue work running.
     */
    default byte[] saveState() {
        return new byte[0];
    }

    /** Gives back {@link #saveState}'s bytes before the device is activated again; refuses what it did not write. */
    default void restoreState(byte[] state) {
        if (state.length != 0) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + state.length
                    + " bytes of device state for a device that keeps none");
        }
    }

    @Override
    default void close() {}

    /** A used-buffer interrupt for queue {@code index} (the transport checks suppression and signals). */
    @FunctionalInterface
    interface QueueInterrupt {
        void usedBuffers(int index);
    }

    /** How the transport carries a queue's notifications and interrupts. */
    enum QueueService {
        /** {@link #process} runs on the device's thread at each notification; interrupts go through QueueInterrupt. */
        DEVICE_THREAD,
        /**
         * A back-end takes the queue's notify eventfd itself (KVM's ioeventfd signals it; the transport does not
         * watch it) and signals the queue's call eventfd, which the transport turns into the queue's interrupt.
         */
        BACKEND,
        /**
         * As BACKEND, but a notification still runs {@link #process} on the device's thread, which relays it to the
         * back-end (one that cannot be given KVM's eventfd).
         */
        BACKEND_RELAYED
    }

    /**
     * The eventfds of the back-end-served queues, by queue index: {@code kick} is the queue's notify eventfd, which
     * a guest notification of the queue signals; {@code call} is what the back-end signals for the queue's used-buffer
     * interrupt.
     */
    record QueueEventFds(Map<Integer, EventFd> kick, Map<Integer, EventFd> call) {
        public QueueEventFds {
            kick = Map.copyOf(kick);
            call = Map.copyOf(call);
        }
    }

    /** An eventfd whose signal means "process queue {@code queue}". */
    record Watch(EventFd eventFd, int queue) {}
}
