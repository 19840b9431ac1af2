package dev.mesovirt.vmm.virtio;

import static dev.mesovirt.vmm.virtio.VirtioIds.*;

import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2), for one device. Register accesses come from vCPU
 * threads; queue work ({@link #notifyQueue}) from the event-loop thread. Both take this object's lock, except
 * InterruptStatus/InterruptACK, which are atomic so that the guest's interrupt handler never waits for device I/O.
 *
 * <p>Nothing the guest does makes this throw: bad accesses are ignored, a bad queue configuration or a malformed
 * descriptor chain sets DEVICE_NEEDS_RESET (with a configuration-change interrupt) and stops the device until the
 * driver resets it.
 */
public final class MmioTransport implements BusDevice {
    private static final Logger LOG = LoggerFactory.getLogger(MmioTransport.class);
    public static final int MAGIC = 0x74726976; // "virt"
    public static final int VERSION = 2;
    public static final int VENDOR_ID = 0x4d56_534d; // "MSVM"
    public static final long QUEUE_NOTIFY = 0x50;
    public static final long CONFIG = 0x100;
    static final long TRANSPORT_FEATURES = (1L << F_VERSION_1) | (1L << F_INDIRECT_DESC) | (1L << F_EVENT_IDX);

    private final String name;
    private final VirtioDevice device;
    private final GuestMemory memory;
    private final Runnable signal;
    private final IntConsumer mmioNotify;
    private final List<Virtqueue> queues = new ArrayList<>();
    private final AtomicInteger interruptStatus = new AtomicInteger();
    private final long deviceFeatures;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private int status;
    private int configGeneration;
    private boolean live;

    /**
     * @param signal raises the device's interrupt line (an irqfd write); called whenever InterruptStatus gains a bit
     * @param mmioNotify what to do with a QueueNotify write that reached us as an MMIO exit rather than through the
     *     ioeventfd (it should wake the event loop, e.g. by signalling the queue's eventfd)
     */
    public MmioTransport(String name, VirtioDevice device, GuestMemory memory, Runnable signal, IntConsumer mmioNotify) {
        this.name = name;
        this.device = device;
        this.memory = memory;
        this.signal = signal;
        this.mmioNotify = mmioNotify;
        for (int size : device.queueSizes()) {
            queues.add(new Virtqueue(size));
        }
        this.deviceFeatures = device.features() | TRANSPORT_FEATURES;
    }

    public VirtioDevice device() {
        return device;
    }

    public int queueCount() {
        return queues.size();
    }

    public synchronized int status() {
        return status;
    }

    public int interruptStatus() {
        return interruptStatus.get();
    }

    @Override
    public void read(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
        if (offset >= CONFIG) {
            synchronized (this) {
                device.readConfig(offset - CONFIG, data);
            }
            return;
        }
        if (data.length != 4 || (offset & 3) != 0) {
            return;
        }
        int v = readRegister(offset);
        for (int i = 0; i < 4; i++) {
            data[i] = (byte) (v >>> (8 * i));
        }
    }

    private int readRegister(long offset) {
        if (offset == 0x60) {
            return interruptStatus.get();
        }
        synchronized (this) {
            Virtqueue q = queueSel < queues.size() ? queues.get(queueSel) : null;
            return switch ((int) offset) {
                case 0x00 -> MAGIC;
                case 0x04 -> VERSION;
                case 0x08 -> device.deviceType();
                case 0x0c -> VENDOR_ID;
                case 0x10 -> deviceFeaturesSel == 0 ? (int) deviceFeatures
                        : deviceFeaturesSel == 1 ? (int) (deviceFeatures >>> 32) : 0;
                case 0x34 -> q == null ? 0 : q.maxSize();
                case 0x44 -> q != null && q.ready() ? 1 : 0;
                case 0x70 -> status;
                case 0xfc -> configGeneration;
                default -> 0;
            };
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        if (offset >= CONFIG) {
            synchronized (this) {
                if ((status & STATUS_DRIVER) != 0) {
                    device.writeConfig(offset - CONFIG, data);
                }
            }
            return;
        }
        if (data.length != 4 || (offset & 3) != 0) {
            return;
        }
        int v = (data[0] & 0xff) | (data[1] & 0xff) << 8 | (data[2] & 0xff) << 16 | (data[3] & 0xff) << 24;
        if (offset == 0x64) {
            interruptStatus.getAndUpdate(s -> s & ~v);
            return;
        }
        if (offset == QUEUE_NOTIFY) {
            if (live && v >= 0 && v < queues.size()) {
                mmioNotify.accept(v);
            }
            return;
        }
        synchronized (this) {
            writeRegister(offset, v);
        }
    }

    private void writeRegister(long offset, int v) {
        Virtqueue q = queueSel < queues.size() ? queues.get(queueSel) : null;
        // Queue registers may only change while the queue is not ready and the driver is not done (4.2.3.2).
        boolean queueWritable = q != null && !q.ready() && (status & STATUS_DRIVER_OK) == 0;
        switch ((int) offset) {
            case 0x14 -> deviceFeaturesSel = v;
            case 0x20 -> {
                if ((status & STATUS_FEATURES_OK) == 0 && driverFeaturesSel <= 1) {
                    int shift = 32 * driverFeaturesSel;
                    driverFeatures = (driverFeatures & ~(0xffffffffL << shift)) | ((v & 0xffffffffL) << shift);
                }
            }
            case 0x24 -> driverFeaturesSel = v;
            case 0x30 -> queueSel = v;
            case 0x38 -> {
                if (queueWritable) {
                    q.setSize(v);
                }
            }
            case 0x44 -> {
                if (q != null && (status & STATUS_DRIVER_OK) == 0) {
                    q.setReady(v == 1);
                }
            }
            case 0x70 -> writeStatus(v & 0xff);
            case 0x80 -> { if (queueWritable) q.setDescTable(low(q.descTable(), v)); }
            case 0x84 -> { if (queueWritable) q.setDescTable(high(q.descTable(), v)); }
            case 0x90 -> { if (queueWritable) q.setAvailRing(low(q.availRing(), v)); }
            case 0x94 -> { if (queueWritable) q.setAvailRing(high(q.availRing(), v)); }
            case 0xa0 -> { if (queueWritable) q.setUsedRing(low(q.usedRing(), v)); }
            case 0xa4 -> { if (queueWritable) q.setUsedRing(high(q.usedRing(), v)); }
            default -> { }
        }
    }

    private static long low(long old, int v) {
        return (old & 0xffffffff00000000L) | (v & 0xffffffffL);
    }

    private static long high(long old, int v) {
        return (old & 0xffffffffL) | ((long) v << 32);
    }

    private void writeStatus(int v) {
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
        live = true;
        device.activate(memory, List.copyOf(queues), driverFeatures, this::usedBuffers);
        LOG.info("{}: driver ready (features 0x{})", name, Long.toHexString(driverFeatures));
        // Requests made available before DRIVER_OK have no notification of their own.
        for (int i = 0; i < queues.size(); i++) {
            if (queues.get(i).isLive()) {
                mmioNotify.accept(i);
            }
        }
    }

    /** Device reset, as when the driver writes 0 to Status; also the machine's reset (QMP system_reset). */
    public synchronized void reset() {
        device.reset();
        for (Virtqueue q : queues) {
            q.reset();
        }
        live = false;
        status = 0;
        driverFeatures = 0;
        deviceFeaturesSel = driverFeaturesSel = queueSel = 0;
        interruptStatus.set(0);
    }

    private void needsReset(String why) {
        LOG.warn("{}: device needs reset: {}", name, why);
        live = false;
        status |= STATUS_DEVICE_NEEDS_RESET;
        configGeneration++;
        raise(INT_CONFIG);
    }

    /** Queue {@code index} was notified (ioeventfd): runs the device's work. Called on the event-loop thread. */
    public synchronized void notifyQueue(int index) {
        if (!live || index < 0 || index >= queues.size() || !queues.get(index).isLive()) {
            return;
        }
        try {
            device.process(index);
        } catch (VirtioException e) {
            needsReset(e.getMessage());
        } catch (RuntimeException e) {
            // A bug in a device must not take the event loop (and every other device) down with it.
            LOG.error("{}: queue {} failed", name, index, e);
            needsReset(e.toString());
        }
    }

    /** Whether the device is running (DRIVER_OK and not broken). */
    public synchronized boolean isLive() {
        return live;
    }

    private void usedBuffers(int index) {
        Virtqueue q = queues.get(index);
        if (q.needsInterrupt()) {
            raise(INT_USED_RING);
        }
    }

    private void raise(int bit) {
        interruptStatus.getAndUpdate(s -> s | bit);
        signal.run();
    }

    /**
     * The line was de-asserted at the guest's EOI (irqfd resample on a level-triggered line): assert it again while
     * InterruptStatus still has bits set, as a level-triggered device would.
     */
    public void resample() {
        if (interruptStatus.get() != 0) {
            signal.run();
        }
    }
}
