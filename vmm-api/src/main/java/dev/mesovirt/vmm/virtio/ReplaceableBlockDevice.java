package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import java.util.Optional;

/**
 * A virtio-blk disk drive whose medium comes and goes while the guest's driver stays bound: StratoVirt's replaceable
 * virtio-mmio disk. The guest probes it at boot as a disk of no sectors; device_add inserts a disk image and
 * device_del takes it out again, each followed by a configuration-change interrupt ({@link MmioTransport#configChanged})
 * on which Linux's virtio_blk reads the new capacity and announces it (a "change" uevent). That is what Kata
 * Containers' agent expects of a StratoVirt microVM: the /dev/vdX its runtime names exists from boot.
 *
 * <p>What the driver learns only at probe stays as it was then: the features (no F_RO, F_BLK_SIZE or F_TOPOLOGY, so
 * the guest uses 512-byte sectors; a read-only medium refuses writes with IOERR) and the queue. The medium's own
 * configuration space (capacity, and the sector sizes a later re-probe would see) is what the driver reads.
 *
 * <p>{@link #insert} and {@link #eject} must run on the device's thread, between requests, as {@link #process} does;
 * they and the transport's calls (activate, reset, on vCPU threads) exclude each other.
 */
public final class ReplaceableBlockDevice implements VirtioDevice {
    /** The features of an empty drive, offered at probe and kept whatever the medium. */
    private static final long FEATURES = (1L << BlockDevice.F_SEG_MAX) | (1L << BlockDevice.F_FLUSH);

    private final BlockDevice empty;
    /** The medium, or {@link #empty}; read by vCPU threads (configuration space), changed on the device's thread. */
    private volatile BlockDevice medium;
    private GuestMemory memory;
    private List<Virtqueue> queues;
    private long ackedFeatures;
    private QueueInterrupt interrupt;

    public ReplaceableBlockDevice(String name) {
        this.empty = BlockDevice.noMedium(name);
        this.medium = empty;
    }

    /** The disk in the drive, if any. */
    public Optional<BlockDevice> medium() {
        BlockDevice m = medium;
        return m == empty ? Optional.empty() : Optional.of(m);
    }

    /**
     * Puts {@code disk} into the empty drive; if the driver is running, the disk takes over its queue at once. The
     * caller then signals the configuration change. Throws IllegalStateException when the drive holds a disk.
     */
    public synchronized void insert(BlockDevice disk) {
        if (medium != empty) {
            throw new IllegalStateException("the drive holds a disk already");
        }
        start(disk);
    }

    /** Takes the disk out (the caller closes it) and leaves the drive empty; the caller signals the change. */
    public synchronized Optional<BlockDevice> eject() {
        BlockDevice m = medium;
        if (m == empty) {
            return Optional.empty();
        }
        m.reset();
        start(empty);
        return Optional.of(m);
    }

    private void start(BlockDevice next) {
        if (queues != null) {
            next.activate(memory, queues, ackedFeatures, interrupt);
        }
        medium = next;
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_BLOCK;
    }

    @Override
    public long features() {
        return FEATURES;
    }

    @Override
    public List<Integer> queueSizes() {
        return List.of(BlockDevice.QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        medium.readConfig(offset, data);
    }

    @Override
    public synchronized void activate(GuestMemory mem, List<Virtqueue> qs, long acked, QueueInterrupt irq) {
        this.memory = mem;
        this.queues = qs;
        this.ackedFeatures = acked;
        this.interrupt = irq;
        medium.activate(mem, qs, acked, irq);
    }

    @Override
    public void process(int index) throws VirtioException {
        medium.process(index);
    }

    @Override
    public synchronized void reset() {
        memory = null;
        queues = null;
        interrupt = null;
        medium.reset();
    }

    /** Closes the medium (machine shutdown); the drive is empty afterwards. */
    @Override
    public void close() {
        BlockDevice m = medium;
        medium = empty;
        m.close();
    }
}
