package dev.mesovirt.vmm.virtio;

import static dev.mesovirt.vmm.virtio.VirtioIds.*;

import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2), for one device: the virtio-mmio register layout
 * over the {@link TransportCore} that every transport shares. Register accesses come from vCPU threads; queue work
 * ({@link #notifyQueue}) from the device's own thread ({@link #connect}). Both take the core's lock, except InterruptStatus/InterruptACK,
 * which are atomic so that the guest's interrupt handler never waits for device I/O.
 *
 * <p>Nothing the guest does makes this throw: bad accesses are ignored, a bad queue configuration or a malformed
 * descriptor chain sets DEVICE_NEEDS_RESET (with a configuration-change interrupt) and stops the device until the
 * driver resets it.
 */
public final class MmioTransport implements BusDevice {
    public static final int MAGIC = 0x74726976; // "virt"
    public static final int VERSION = 2;
    public static final int VENDOR_ID = 0x4d56_534d; // "MSVM"
    public static final long QUEUE_NOTIFY = 0x50;
    public static final long CONFIG = 0x100;
    static final int SHM_LEN_LOW = 0xb0;
    static final int SHM_LEN_HIGH = 0xb4;
    static final int NO_SHM_REGION = 0xffff_ffff;
    static final long TRANSPORT_FEATURES = TransportCore.TRANSPORT_FEATURES;

    private final TransportCore core;
    private final Runnable signal;
    private final IntConsumer mmioNotify;
    private final AtomicInteger interruptStatus = new AtomicInteger();

    /**
     * @param signal raises the device's interrupt line (an irqfd write); called whenever InterruptStatus gains a bit
     * @param mmioNotify what to do with a QueueNotify write that reached us as an MMIO exit rather than through the
     *     ioeventfd (it should wake the device's thread, e.g. by signalling the queue's eventfd)
     */
    public MmioTransport(String name, VirtioDevice device, GuestMemory memory, Runnable signal, IntConsumer mmioNotify) {
        this.signal = signal;
        this.mmioNotify = mmioNotify;
        this.core = new TransportCore(name, device, memory, new TransportCore.Events() {
            @Override
            public void queueInterrupt(int index) {
                raise(INT_USED_RING);
            }

            @Override
            public void configInterrupt() {
                raise(INT_CONFIG);
            }

            @Override
            public void kick(int index) {
                mmioNotify.accept(index);
            }

            @Override
            public void reset() {
                interruptStatus.set(0);
            }
        });
    }

    public VirtioDevice device() {
        return core.device();
    }

    public int queueCount() {
        return core.queueCount();
    }

    public int status() {
        return core.status();
    }

    public int interruptStatus() {
        return interruptStatus.get();
    }

    @Override
    public void read(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
        if (offset >= CONFIG) {
            core.readDeviceConfig(offset - CONFIG, data);
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
        synchronized (core) {
            Virtqueue q = core.selectedQueue();
            return switch ((int) offset) {
                case 0x00 -> MAGIC;
                case 0x04 -> VERSION;
                case 0x08 -> core.device().deviceType();
                case 0x0c -> VENDOR_ID;
                case 0x10 -> core.deviceFeatureWord();
                case 0x34 -> q == null ? 0 : q.maxSize();
                case 0x44 -> q != null && q.ready() ? 1 : 0;
                case 0x70 -> core.status();
                // SHMLenLow/High: no device here has shared memory regions, and a length of all ones is how a
                // driver learns that (virtio 1.2 4.2.2); 0 would be a region of no bytes at address 0, which Linux's
                // virtio-fs tries to reserve as its DAX window and then fails to probe.
                case SHM_LEN_LOW, SHM_LEN_HIGH -> NO_SHM_REGION;
                case 0xfc -> core.configGeneration();
                default -> 0;
            };
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        if (offset >= CONFIG) {
            core.writeDeviceConfig(offset - CONFIG, data);
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
            if (core.isLive() && v >= 0 && v < core.queueCount()) {
                mmioNotify.accept(v);
            }
            return;
        }
        synchronized (core) {
            writeRegister(offset, v);
        }
    }

    private void writeRegister(long offset, int v) {
        Virtqueue q = core.selectedQueue();
        boolean queueWritable = core.selectedQueueWritable();
        switch ((int) offset) {
            case 0x14 -> core.selectDeviceFeatures(v);
            case 0x20 -> core.writeDriverFeatureWord(v);
            case 0x24 -> core.selectDriverFeatures(v);
            case 0x30 -> core.selectQueue(v);
            case 0x38 -> {
                if (queueWritable) {
                    q.setSize(v);
                }
            }
            case 0x44 -> core.setSelectedQueueReady(v == 1);
            case 0x70 -> core.writeStatus(v & 0xff);
            case 0x80 -> { if (queueWritable) q.setDescTable(low(q.descTable(), v)); }
            case 0x84 -> { if (queueWritable) q.setDescTable(high(q.descTable(), v)); }
            case 0x90 -> { if (queueWritable) q.setAvailRing(low(q.availRing(), v)); }
            case 0x94 -> { if (queueWritable) q.setAvailRing(high(q.availRing(), v)); }
            case 0xa0 -> { if (queueWritable) q.setUsedRing(low(q.usedRing(), v)); }
            case 0xa4 -> { if (queueWritable) q.setUsedRing(high(q.usedRing(), v)); }
            default -> { }
        }
    }

    static long low(long old, int v) {
        return (old & 0xffffffff00000000L) | (v & 0xffffffffL);
    }

    static long high(long old, int v) {
        return (old & 0xffffffffL) | ((long) v << 32);
    }

    /** The device's configuration changed (see {@link TransportCore#configChanged}): tells the driver. */
    public void configChanged() {
        core.configChanged();
    }

    /** Device reset, as when the driver writes 0 to Status; also the machine's reset (QMP system_reset). */
    public void reset() {
        core.reset();
    }

    /**
     * Puts the device's work on {@code loop}, its own device thread: queue {@code q}'s work runs when
     * {@code notifyFds[q]} (the queue's QueueNotify ioeventfd) or one of the device's watches is signalled. The loop
     * owns those eventfds from now on. Call once, before the loop starts or on its thread.
     */
    public void connect(EventLoop loop, EventFd[] notifyFds) {
        core.connect(loop, notifyFds);
    }

    /** Queue {@code index} was notified (ioeventfd): runs the device's work. Called on the device's thread. */
    public void notifyQueue(int index) {
        core.notifyQueue(index);
    }

    /** Whether the device is running (DRIVER_OK and not broken). */
    public boolean isLive() {
        return core.isLive();
    }

    /** Snapshot section version of {@link #saveState}. */
    public static final int STATE_VERSION = 1;

    /** InterruptStatus, the transport core (registers, queues) and the device's own state, for a snapshot. */
    public byte[] saveState() {
        synchronized (core) {
            dev.mesovirt.vmm.snapshot.StateWriter w = new dev.mesovirt.vmm.snapshot.StateWriter()
                    .u32(interruptStatus.get());
            core.saveState(w);
            return w.toByteArray();
        }
    }

    /**
     * Gives back what {@link #saveState} took, on the same device built from the command line; a pending interrupt
     * is raised again (the guest reads InterruptStatus, so an extra one is harmless).
     */
    public void restoreState(dev.mesovirt.vmm.snapshot.Section section) {
        section.requireVersion(STATE_VERSION);
        dev.mesovirt.vmm.snapshot.StateReader r = section.reader();
        int pending = r.u32() & (INT_USED_RING | INT_CONFIG);
        core.restoreState(r);
        r.end();
        interruptStatus.set(pending);
        if (pending != 0) {
            signal.run();
        }
    }

    /** Runs {@code action} with no queue work running on this device (its requests are complete). */
    public <T> T whileQuiet(java.util.function.Supplier<T> action) {
        synchronized (core) {
            return action.get();
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
