package dev.mesovirt.vmm.virtio;

import static dev.mesovirt.vmm.virtio.VirtioIds.*;

import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every virtio transport does for one device, whatever its register layout (virtio 1.2 sections 2 and 3):
 * device status and its state machine, feature negotiation, queue selection and configuration, the device's
 * configuration space and generation, activation at DRIVER_OK, queue work on notification, the used-buffer
 * interrupt decision, DEVICE_NEEDS_RESET, and reset. {@link MmioTransport} and {@link VirtioPciFunction} lay their
 * registers over it and deliver its interrupts their own way ({@link Events}).
 *
 * <p>Register accesses come from vCPU threads, queue work ({@link #notifyQueue}) from the device's thread; all of
 * it holds this object's lock. Nothing the guest does makes it throw: a bad queue configuration or a malformed
 * descriptor chain sets DEVICE_NEEDS_RESET (with a configuration-change interrupt) and stops the device until the
 * driver resets it.
 */
final class TransportCore {
    private static final Logger LOG = LoggerFactory.getLogger(TransportCore.class);
    static final long TRANSPORT_FEATURES = (1L << F_VERSION_1) | (1L << F_INDIRECT_DESC) | (1L << F_EVENT_IDX);

    /** How the transport delivers what the core decides. Called with the core's lock held. */
    interface Events {
        /** Queue {@code index} has used buffers the driver wants to hear about. */
        void queueInterrupt(int index);

        /** The configuration changed (or the device needs a reset). */
        void configInterrupt();

        /** The device went live: queue {@code index} may hold requests made available before DRIVER_OK. */
        void kick(int index);

        /** The device was reset (status 0 or machine reset): transport state goes back to its initial values. */
        void reset();
    }

    private final String name;
    private final VirtioDevice device;
    private final GuestMemory memory;
    private final Events events;
    private final List<Virtqueue> queues = new ArrayList<>();
    /** The call eventfds of the back-end-served queues, by index (set once, by connect). */
    private volatile Map<Integer, EventFd> callFds = Map.of();
    private final long deviceFeatures;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private int status;
    private int configGeneration;
    private boolean live;

    TransportCore(String name, VirtioDevice device, GuestMemory memory, Events events) {
        this.name = name;
        this.device = device;
        this.memory = memory;
        this.events = events;
        for (int size : device.queueSizes()) {
            queues.add(new Virtqueue(size));
        }
        this.deviceFeatures = device.features() | (TRANSPORT_FEATURES & device.transportFeatureMask());
    }

    String name() {
        return name;
    }

    VirtioDevice device() {
        return device;
    }

    int queueCount() {
        return queues.size();
    }

    synchronized int status() {
        return status;
    }

    synchronized int configGeneration() {
        return configGeneration;
    }

    synchronized void selectDeviceFeatures(int sel) {
        deviceFeaturesSel = sel;
    }

    synchronized int deviceFeaturesSelected() {
        return deviceFeaturesSel;
    }

    /** The 32 device feature bits the selector picks (0 past the second word). */
    synchronized int deviceFeatureWord() {
        return deviceFeaturesSel == 0 ? (int) deviceFeatures
                : deviceFeaturesSel == 1 ? (int) (deviceFeatures >>> 32) : 0;
    }

    synchronized void selectDriverFeatures(int sel) {
        driverFeaturesSel = sel;
    }

    synchronized int driverFeaturesSelected() {
        return driverFeaturesSel;
    }

    synchronized int driverFeatureWord() {
        return driverFeaturesSel == 0 ? (int) driverFeatures
                : driverFeaturesSel == 1 ? (int) (driverFeatures >>> 32) : 0;
    }

    /** The driver's feature bits for the selected word; ignored once FEATURES_OK is set. */
    synchronized void writeDriverFeatureWord(int v) {
        if ((status & STATUS_FEATURES_OK) == 0 && driverFeaturesSel >= 0 && driverFeaturesSel <= 1) {
            int shift = 32 * driverFeaturesSel;
            driverFeatures = (driverFeatures & ~(0xffffffffL << shift)) | ((v & 0xffffffffL) << shift);
        }
    }

    synchronized void selectQueue(int sel) {
        queueSel = sel;
    }

    synchronized int queueSelected() {
        return queueSel;
    }

    /** The selected queue, or null when the selector is out of range. */
    synchronized Virtqueue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    /** Queue registers may only change while the queue is not ready and the driver is not done (4.2.3.2, 4.1.4.3). */
    synchronized boolean selectedQueueWritable() {
        Virtqueue q = selectedQueue();
        return q != null && !q.ready() && (status & STATUS_DRIVER_OK) == 0;
    }

    /** Sets the selected queue's ready state, before DRIVER_OK only. */
    synchronized void setSelectedQueueReady(boolean ready) {
        Virtqueue q = selectedQueue();
        if (q != null && (status & STATUS_DRIVER_OK) == 0) {
            q.setReady(ready);
        }
    }

    synchronized void readDeviceConfig(long offset, byte[] data) {
        device.readConfig(offset, data);
    }

    /** A driver write to the device configuration; only once the driver has been found (DRIVER). */
    synchronized void writeDeviceConfig(long offset, byte[] data) {
        if ((status & STATUS_DRIVER) != 0) {
            device.writeConfig(offset, data);
        }
    }

    /** The driver writes the Status register: 0 resets, otherwise bits are added one by one. */
    synchronized void writeStatus(int v) {
        if (v == 0) {
            reset();
            return;
        }
        if ((v & STATUS_FAILED) != 0) {
            status |= STATUS_FAILED;
            return;
        }
        // Bits are only ever added (the driver writes the old value plus one bit); anything else is ignored.
        if ((v & status) != (status & ~STATUS_DEVICE_NEEDS_RESET)) {
            return;
        }
        int added = v & ~status & ~STATUS_DEVICE_NEEDS_RESET;
        if ((added & STATUS_FEATURES_OK) != 0) {
            boolean ok = (status & STATUS_DRIVER) != 0
                    && (driverFeatures & ~deviceFeatures) == 0
                    && (driverFeatures & (1L << F_VERSION_1)) != 0;
            if (!ok) {
                LOG.warn("{}: driver features 0x{} refused (device offers 0x{}; VERSION_1 is required)", name,
                        Long.toHexString(driverFeatures), Long.toHexString(deviceFeatures));
                added &= ~STATUS_FEATURES_OK;
            }
        }
        if ((added & STATUS_DRIVER_OK) != 0) {
            if ((status & STATUS_FEATURES_OK) == 0 && (added & STATUS_FEATURES_OK) == 0) {
                return;
            }
            status |= added;
            activate();
            return;
        }
        status |= added;
    }

    private void activate() {
        boolean eventIdx = (driverFeatures & (1L << F_EVENT_IDX)) != 0;
        boolean indirect = (driverFeatures & (1L << F_INDIRECT_DESC)) != 0;
        try {
            for (Virtqueue q : queues) {
                if (q.ready()) {
                    q.activate(memory, eventIdx, indirect);
                }
            }
        } catch (VirtioException e) {
            needsReset(e.getMessage());
            return;
        }
        try {
            device.activate(memory, List.copyOf(queues), driverFeatures, this::usedBuffers);
        } catch (VirtioException e) {
            needsReset("cannot start: " + e.getMessage());
            return;
        }
        live = true;
        LOG.info("{}: driver ready (features 0x{})", name, Long.toHexString(driverFeatures));
        // Requests made available before DRIVER_OK have no notification of their own.
        for (int i = 0; i < queues.size(); i++) {
            if (queues.get(i).isLive()) {
                events.kick(i);
            }
        }
    }

    /**
     * The device's configuration changed behind the driver's back (a disk's medium came or went): a new generation,
     * and the configuration-change interrupt once a driver has been found, so that it reads the space again.
     */
    synchronized void configChanged() {
        configGeneration++;
        if ((status & STATUS_DRIVER) != 0) {
            events.configInterrupt();
        }
    }

    /** Device reset, as when the driver writes 0 to Status; also the machine's reset. */
    synchronized void reset() {
        device.reset();
        for (Virtqueue q : queues) {
            q.reset();
        }
        live = false;
        status = 0;
        driverFeatures = 0;
        deviceFeaturesSel = driverFeaturesSel = queueSel = 0;
        events.reset();
    }

    private void needsReset(String why) {
        LOG.warn("{}: device needs reset: {}", name, why);
        live = false;
        status |= STATUS_DEVICE_NEEDS_RESET;
        configGeneration++;
        events.configInterrupt();
    }

    /**
     * Puts the device's work on {@code loop}, its device thread: queue {@code q}'s work runs when {@code notifyFds[q]}
     * is signalled (the ioeventfd of the guest's notification) or when one of the device's watches for it is (its
     * backend has input). A queue a back-end serves ({@link VirtioDevice#queueService}) also gets a call eventfd,
     * watched here and turned into the queue's interrupt; the device is given both eventfds
     * ({@link VirtioDevice#attach}). The loop owns those eventfds from now on and closes them with itself. Call
     * before the loop starts, or on its thread.
     */
    void connect(EventLoop loop, EventFd[] notifyFds) {
        if (notifyFds.length != queues.size()) {
            throw new IllegalArgumentException(name + ": " + notifyFds.length + " notify eventfds for " + queues.size()
                    + " queues");
        }
        Map<Integer, EventFd> notify = new HashMap<>();
        Map<Integer, EventFd> call = new HashMap<>();
        for (int q = 0; q < notifyFds.length; q++) {
            int queue = q;
            VirtioDevice.QueueService service = device.queueService(q);
            if (service == VirtioDevice.QueueService.BACKEND) {
                loop.own(notifyFds[q]); // the back-end waits on it, not this thread
            } else {
                loop.addEventFd(notifyFds[q], () -> notifyQueue(queue));
            }
            if (service != VirtioDevice.QueueService.DEVICE_THREAD) {
                EventFd c = new EventFd(true);
                loop.addEventFd(c, () -> backendInterrupt(queue));
                notify.put(q, notifyFds[q]);
                call.put(q, c);
            }
        }
        if (!call.isEmpty()) {
            callFds = Map.copyOf(call);
            device.attach(new VirtioDevice.QueueEventFds(notify, call));
        }
        for (VirtioDevice.Watch w : device.watches()) {
            loop.addEventFd(w.eventFd(), () -> notifyQueue(w.queue()));
        }
    }

    /** Queue {@code index} was notified: runs the device's work. Called on the device's thread. */
    synchronized void notifyQueue(int index) {
        if (!live || index < 0 || index >= queues.size() || !queues.get(index).isLive()) {
            return;
        }
        try {
            device.process(index);
        } catch (VirtioException e) {
            needsReset(e.getMessage());
        } catch (RuntimeException e) {
            // A bug in a device must not take its thread down with it.
            LOG.error("{}: queue {} failed", name, index, e);
            needsReset(e.toString());
        }
    }

    /** Queue {@code index}'s call eventfd when a back-end serves it (after {@link #connect}), else null. */
    EventFd callFd(int index) {
        return callFds.get(index);
    }

    /**
     * A back-end signalled queue {@code index}'s call eventfd: it has used buffers and has already applied the
     * driver's suppression (EVENT_IDX or NO_INTERRUPT), so the interrupt goes out as it is. Device thread.
     */
    synchronized void backendInterrupt(int index) {
        if (live) {
            events.queueInterrupt(index);
        }
    }

    /**
     * The transport's registers, each queue and the device's own state, for a snapshot. Holding this lock, no queue
     * work runs ({@link #notifyQueue} takes it and completes its requests before it returns): nothing is in flight.
     */
    synchronized void saveState(dev.mesovirt.vmm.snapshot.StateWriter w) {
        for (int q = 0; q < queues.size(); q++) {
            if (device.queueService(q) != VirtioDevice.QueueService.DEVICE_THREAD) {
                throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + name + " has queues a back-end"
                        + " serves (vhost); their state cannot be saved yet");
            }
        }
        w.u32(status).u32(deviceFeaturesSel).u32(driverFeaturesSel).u64(driverFeatures).u32(queueSel)
                .u32(configGeneration).bool(live).u64(deviceFeatures).u32(queues.size());
        for (Virtqueue q : queues) {
            q.saveState(w);
        }
        w.bytes(device.saveState());
    }

    /**
     * Gives back what {@link #saveState} took, on the same device built from the command line; a live device is
     * activated again with its queues where they were, and each live queue is kicked for what the driver made
     * available meanwhile.
     */
    synchronized void restoreState(dev.mesovirt.vmm.snapshot.StateReader r) {
        int st = r.u32();
        int devSel = r.u32();
        int drvSel = r.u32();
        long drvFeatures = r.u64();
        int qSel = r.u32();
        int generation = r.u32();
        boolean wasLive = r.bool();
        long offered = r.u64();
        if (offered != deviceFeatures) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + name + " offered features 0x"
                    + Long.toHexString(offered) + ", the same device here offers 0x" + Long.toHexString(deviceFeatures));
        }
        int n = r.u32();
        if (n != queues.size()) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + name + " had " + n + " queues, here "
                    + queues.size());
        }
        for (Virtqueue q : queues) {
            q.restoreState(r, memory);
        }
        byte[] deviceState = r.bytes();
        status = st;
        deviceFeaturesSel = devSel;
        driverFeaturesSel = drvSel;
        driverFeatures = drvFeatures;
        queueSel = qSel;
        configGeneration = generation;
        device.restoreState(deviceState);
        if (wasLive) {
            try {
                device.activate(memory, List.copyOf(queues), driverFeatures, this::usedBuffers);
            } catch (VirtioException e) {
                throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: " + name + " cannot start: "
                        + e.getMessage());
            }
            live = true;
            for (int i = 0; i < queues.size(); i++) {
                if (queues.get(i).isLive()) {
                    events.kick(i);
                }
            }
        }
    }

    /** Whether the device is running (DRIVER_OK and not broken). */
    synchronized boolean isLive() {
        return live;
    }

    /** Whether queue {@code index} exists and is live: a notification for it means work. */
    synchronized boolean queueLive(int index) {
        return live && index >= 0 && index < queues.size() && queues.get(index).isLive();
    }

    /** The device's {@link VirtioDevice.QueueInterrupt}, called from its {@link VirtioDevice#process}. */
    private void usedBuffers(int index) {
        Virtqueue q = queues.get(index);
        if (q.needsInterrupt()) {
            events.queueInterrupt(index);
        }
    }
}
