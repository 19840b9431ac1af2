package dev.mesovirt.vmm.vhost;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import dev.mesovirt.vmm.virtio.VirtioException;
import dev.mesovirt.vmm.virtio.Virtqueue;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio device whose queues (some or all, as its {@link VhostDeviceModel} says) a {@link VhostBackend} serves.
 * The transport does what it does for every device (features, status, queue registers); at DRIVER_OK this hands the
 * back-end the acknowledged features, guest RAM as a memory table, and for each of its queues the size, base 0, the
 * ring addresses translated to this process's addresses, the kick eventfd (the transport's notify eventfd, which
 * KVM's ioeventfd signals) and the call eventfd (which the transport turns into the queue's interrupt); then the
 * model starts the device. A reset stops the device and takes the rings back (GET_VRING_BASE). A back-end that
 * refuses the set-up makes activation fail, and the transport marks the device DEVICE_NEEDS_RESET.
 *
 * <p>Ring addresses come from the driver: each ring must lie inside one guest RAM region (the back-end reads it
 * through that region's mapping), else activation fails and no address reaches the back-end.
 */
public final class VhostDevice implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(VhostDevice.class);

    private final String name;
    private final VhostBackend backend;
    private final VhostDeviceModel model;
    private final long backendFeatures;
    private final boolean shareKick;
    private QueueEventFds eventFds;
    /** Kick eventfds of our own, for a back-end that may not share the transport's ({@link QueueService#BACKEND_RELAYED}). */
    private final Map<Integer, EventFd> relayKicks = new HashMap<>();
    /** Where the back-end signals each queue's used buffers, when the transport chose other than the call eventfd. */
    private final Map<Integer, EventFd> callTargets = new HashMap<>();
    /** Queues whose rings the back-end has been given since the last stop. */
    private final List<Integer> running = new ArrayList<>();
    private boolean started;

    /**
     * Takes ownership of {@code backend} and makes this VMM its owner (VHOST_SET_OWNER), then asks what it supports.
     *
     * @param name the device's id, for logs and errors
     */
    public VhostDevice(String name, VhostBackend backend, VhostDeviceModel model) throws VhostException {
        this.name = name;
        this.backend = backend;
        this.model = model;
        backend.setOwner();
        this.backendFeatures = backend.getFeatures();
        this.shareKick = backend.mayShareKickFd();
    }

    @Override
    public int deviceType() {
        return model.deviceType();
    }

    @Override
    public long features() {
        return model.features(backendFeatures) & backendFeatures;
    }

    @Override
    public long transportFeatureMask() {
        return backendFeatures;
    }

    @Override
    public List<Integer> queueSizes() {
        return model.queueSizes();
    }

    @Override
    public QueueService queueService(int index) {
        if (!model.backendQueue(index)) {
            return QueueService.DEVICE_THREAD;
        }
        return shareKick ? QueueService.BACKEND : QueueService.BACKEND_RELAYED;
    }

    @Override
    public void attach(QueueEventFds fds) {
        eventFds = fds;
        if (!shareKick) {
            for (int q : fds.kick().keySet()) {
                relayKicks.put(q, new EventFd(true));
            }
        }
    }

    @Override
    public void setCallTarget(int index, EventFd target) {
        callTargets.put(index, target);
        if (running.contains(index)) {
            try {
                backend.setVringCall(index, target);
            } catch (VhostException e) {
                // The back-end keeps signalling the old eventfd: interrupts may go astray until the next reset.
                LOG.warn("{}: moving queue {}'s interrupt failed: {}", name, index, e.getMessage());
            }
        }
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        model.readConfig(offset, data);
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        model.writeConfig(offset, data);
    }

    @Override
    public void activate(GuestMemory memory, List<Virtqueue> queues, long ackedFeatures, QueueInterrupt interrupt)
            throws VirtioException {
        List<VringAddress> rings = new ArrayList<>();
        for (int q = 0; q < queues.size(); q++) {
            if (model.backendQueue(q) && queues.get(q).isLive()) {
                if (eventFds == null || !eventFds.call().containsKey(q)) {
                    throw new VirtioException(name + ": queue " + q + " has no eventfds (transport not connected)");
                }
                rings.add(ringAddress(memory, q, queues.get(q)));
            }
        }
        stop(); // a driver may set DRIVER_OK again only after a reset, which stopped us; this is belt and braces
        try {
            backend.setFeatures(ackedFeatures & backendFeatures);
            backend.setMemTable(memoryTable(memory));
            for (VringAddress ring : rings) {
                int q = ring.queue();
                running.add(q);
                backend.setVringNum(q, queues.get(q).size());
                backend.setVringBase(q, 0);
                backend.setVringAddr(ring);
                backend.setVringKick(q, shareKick ? eventFds.kick().get(q) : relayKicks.get(q));
                backend.setVringCall(q, callTargets.getOrDefault(q, eventFds.call().get(q)));
                backend.setVringEnable(q, true);
            }
            model.activate(memory, queues, interrupt);
            started = true;
            model.start();
        } catch (VhostException e) {
            stop();
            throw new VirtioException(e.getMessage());
        }
        LOG.info("{}: vhost back-end serves queues {}", name, running);
    }

    /** The driver's ring areas as back-end addresses: each must lie in one RAM region, else the device cannot start. */
    static VringAddress ringAddress(GuestMemory memory, int q, Virtqueue vq) throws VirtioException {
        long size = vq.size();
        return new VringAddress(q, 0, vq.descTable(), vq.availRing(), vq.usedRing(),
                hostAddress(memory, q, "descriptor table", vq.descTable(), 16 * size),
                hostAddress(memory, q, "available ring", vq.availRing(), 6 + 2 * size),
                hostAddress(memory, q, "used ring", vq.usedRing(), 6 + 8 * size), 0);
    }

    private static long hostAddress(GuestMemory memory, int q, String what, long address, long length)
            throws VirtioException {
        for (GuestMemory.Region r : memory.regions()) {
            if (address >= r.guestAddress() && length <= r.end() - address) {
                return memory.hostAddress(address);
            }
        }
        throw new VirtioException("queue " + q + "'s " + what + " at 0x" + Long.toHexString(address) + " (+" + length
                + " bytes) is not inside one guest RAM region");
    }

    /**
     * Guest RAM as a back-end sees it: each region at its mapping in this process (where the kernel back-end reads
     * it) and, when RAM is shared, in its memfd (which a vhost-user back-end maps).
     */
    static List<VhostMemoryRegion> memoryTable(GuestMemory memory) {
        List<VhostMemoryRegion> table = new ArrayList<>();
        for (GuestMemory.Mapping m : memory.mappings()) {
            table.add(m.fd() < 0 ? VhostMemoryRegion.anonymous(m.guestAddress(), m.size(), m.hostAddress())
                    : new VhostMemoryRegion(m.guestAddress(), m.size(), m.hostAddress(), m.fdOffset(),
                            java.util.OptionalInt.of(m.fd())));
        }
        return table;
    }

    @Override
    public void process(int index) throws VirtioException {
        EventFd relay = relayKicks.get(index);
        if (relay != null) {
            relay.signal();
        } else if (!model.backendQueue(index)) {
            model.process(index);
        }
    }

    @Override
    public void reset() {
        stop();
        model.reset();
    }

    /** Stops the device and takes every ring back from the back-end; failures are logged (nothing to undo). */
    private void stop() {
        if (started) {
            started = false;
            try {
                model.stop();
            } catch (VhostException e) {
                LOG.warn("{}: stopping the device failed: {}", name, e.getMessage());
            }
        }
        for (int q : running) {
            try {
                backend.getVringBase(q);
            } catch (VhostException e) {
                LOG.warn("{}: taking queue {} back failed: {}", name, q, e.getMessage());
            }
        }
        running.clear();
    }

    @Override
    public void close() {
        stop();
        model.close();
        backend.close();
        for (EventFd fd : relayKicks.values()) {
            fd.close();
        }
    }
}
