package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.machine.VirtioDevices;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.Epoll;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.virtio.BlockDevice;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.ReplaceableBlockDevice;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import java.util.Optional;

/**
 * One virtio-mmio slot of the microVM: a fixed register window and interrupt, described to the guest at boot, that
 * holds a device or nothing. An empty slot answers like QEMU's empty virtio-mmio transport: magic, version 2 and
 * device ID 0, which Linux's virtio-mmio driver skips (-ENODEV); once a device is plugged in, re-probing the platform
 * device (the guest's bind) finds it. A replaceable disk slot ({@link #holdDiskDrive}) follows StratoVirt instead: it
 * holds an empty disk drive from boot ({@link ReplaceableBlockDevice}, a disk of no sectors that the guest binds at
 * boot); device_add puts a disk into the drive and device_del takes it out, each with a configuration-change
 * interrupt, and the guest's driver stays bound throughout.
 *
 * <p>The interrupt is wired once for the slot's life: an irqfd (with a resample fd on level-triggered lines, see
 * {@link VirtioMmioBoard}). A device comes with a thread of its own ({@code virtio-ID}, an {@link EventLoop}) watching
 * its queue-notify ioeventfds, its backend's fds and the slot's resample fd; the thread goes with the device. What
 * the thread's handlers use changes on that thread ({@link EventLoop#call}), so that none of them is running then.
 */
final class VirtioSlot implements BusDevice {
    /**
     * The device in the slot with what it registered, and its thread: a plugged-in device, or a replaceable disk
     * slot's drive ({@code config} then names the disk in it, or is null).
     */
    private record Plugged(VirtioConfig config, MmioTransport transport, EventFd[] notifyFds, EventLoop thread) {
    }

    private final int index;
    private final long base;
    private final long size;
    private final Irq irq;
    /** The VM the slot's ioeventfds and interrupt are registered with; a machine reset moves the slot to a new one. */
    private volatile Vm vm;
    private final GuestMemory memory;
    private final EventFd irqFd = new EventFd(true);
    private final EventFd resampleFd;
    /** How a device's interrupt reaches the guest: the irqfd, or a KVM_IRQ_LINE pulse where irqfds make no edges. */
    private final Runnable signal;
    private final boolean useIrqfd;
    private volatile Plugged plugged;
    /** A replaceable disk slot's drive, in {@link #plugged} from boot; null in other slots. */
    private volatile ReplaceableBlockDevice drive;

    VirtioSlot(int index, long base, long size, Irq irq, boolean irqfdPulsesEdges, Vm vm, GuestMemory memory) {
        this.index = index;
        this.base = base;
        this.size = size;
        this.irq = irq;
        this.vm = vm;
        this.memory = memory;
        this.resampleFd = irq.levelTriggered() ? new EventFd(true) : null;
        this.useIrqfd = irq.levelTriggered() || irqfdPulsesEdges;
        this.signal = useIrqfd ? irqFd::signal : () -> {
            Vm v = this.vm;
            v.setIrqLine(irq.kvmLine(), true);
            v.setIrqLine(irq.kvmLine(), false);
        };
    }

    /**
     * The slot's snapshot section id: its device's id, or {@code virtio-mmioN} for a disk hot-plug slot with no disk;
     * empty for a slot with no transport (a free slot the guest sees as no device).
     */
    java.util.Optional<String> stateId() {
        Plugged p = plugged;
        if (p == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(p.config() != null ? p.config().id() : "virtio-mmio" + index);
    }

    /** Registers the slot's irqfd; called once the interrupt controller is complete. */
    void connectInterrupt() {
        if (!useIrqfd) {
            return;
        }
        if (resampleFd != null) {
            vm.registerIrqfdResample(irqFd, resampleFd, irq.gsi());
        } else {
            vm.registerIrqfd(irqFd, irq.gsi());
        }
    }

    /**
     * Machine reset: resets the device (as a driver's write of 0 to Status does: queues forgotten, no interrupt
     * pending) and moves its queue-notify ioeventfds to {@code newVm}, on the device's thread, so that no request of
     * the old boot is in flight; the thread stays. The interrupt follows with {@link #connectInterrupt()} once the
     * new VM's interrupt controller is complete. No vCPU may be running.
     */
    void moveTo(Vm newVm) {
        Plugged p = plugged;
        if (p == null) {
            vm = newVm;
            return;
        }
        p.thread().call(() -> {
            vm = newVm;
            p.transport().reset();
            for (int q = 0; q < p.notifyFds().length; q++) {
                newVm.registerIoeventfd(p.notifyFds()[q], base + MmioTransport.QUEUE_NOTIFY, 4, false, (long) q);
            }
        });
    }

    int index() {
        return index;
    }

    long base() {
        return base;
    }

    long size() {
        return size;
    }

    Irq irq() {
        return irq;
    }

    Optional<VirtioConfig> config() {
        Plugged p = plugged;
        return p == null ? Optional.empty() : Optional.ofNullable(p.config());
    }

    /**
     * Makes this empty slot a replaceable disk slot: an empty disk drive in it from now on, which the guest finds at
     * boot. Call while the machine is built.
     */
    void holdDiskDrive() {
        ReplaceableBlockDevice d = new ReplaceableBlockDevice("slot" + index);
        wire(null, "virtio-slot" + index, d);
        drive = d;
    }

    /** Whether this is a replaceable disk slot. */
    boolean holdsDiskDrive() {
        return drive != null;
    }

    Optional<MmioTransport> transport() {
        Plugged p = plugged;
        return p == null ? Optional.empty() : Optional.of(p.transport());
    }

    /**
     * Puts {@code device} into this empty slot: its transport, its queue-notify ioeventfds, and its own thread
     * ({@code virtio-ID}) watching them, its backend's fds and the slot's resample fd. Throws IllegalStateException
     * when the slot is in use; if it fails, what it made is closed again (the device is the caller's).
     */
    void plug(VirtioConfig config, VirtioDevice device) {
        ReplaceableBlockDevice d = drive;
        if (d != null) {
            insert(d, config, device);
            return;
        }
        Plugged in = plugged;
        if (in != null) {
            throw new IllegalStateException("virtio-mmio slot " + index + " is in use by " + in.config().id());
        }
        wire(config, VirtioDevices.threadName(config), device);
    }

    /**
     * Puts a disk into the slot's drive, on the drive's thread (between requests), then tells the guest's driver
     * that the configuration (the capacity) changed. The disk is the drive's from here.
     */
    private void insert(ReplaceableBlockDevice d, VirtioConfig config, VirtioDevice device) {
        Plugged p = plugged;
        if (p.config() != null) {
            throw new IllegalStateException("virtio-mmio slot " + index + " is in use by " + p.config().id());
        }
        if (!(device instanceof BlockDevice disk)) {
            throw new IllegalArgumentException("virtio-mmio slot " + index + " takes a disk");
        }
        p.thread().call(() -> d.insert(disk));
        plugged = new Plugged(config, p.transport(), p.notifyFds(), p.thread());
        p.transport().configChanged();
    }

    /** Makes {@code device}'s transport, registers its queue-notify ioeventfds and starts its thread. */
    private void wire(VirtioConfig config, String threadName, VirtioDevice device) {
        String name = config == null ? threadName : config.id();
        int queues = device.queueSizes().size();
        EventFd[] notify = new EventFd[queues];
        for (int q = 0; q < queues; q++) {
            notify[q] = new EventFd(true);
        }
        MmioTransport transport = new MmioTransport(name, device, memory, signal, q -> notify[q].signal());
        EventLoop thread = new EventLoop();
        transport.connect(thread, notify); // the thread owns the notify eventfds from here
        if (resampleFd != null) {
            thread.add(resampleFd.fd(), Epoll.EPOLLIN, () -> {
                resampleFd.consume();
                if (plugged != null) { // null once it is leaving: an empty slot raises nothing
                    transport.resample();
                }
            });
        }
        int registered = 0;
        try {
            for (; registered < queues; registered++) {
                vm.registerIoeventfd(notify[registered], base + MmioTransport.QUEUE_NOTIFY, 4, false,
                        (long) registered);
            }
        } catch (RuntimeException e) {
            unregisterIoeventfds(notify, registered);
            thread.close();
            throw e;
        }
        thread.start(threadName);
        plugged = new Plugged(config, transport, notify, thread);
    }

    private void unregisterIoeventfds(EventFd[] notify, int count) {
        for (int q = 0; q < count; q++) {
            vm.unregisterIoeventfd(notify[q], base + MmioTransport.QUEUE_NOTIFY, 4, false, (long) q);
        }
    }

    /**
     * Empties the slot: the guest's next register read sees device ID 0, its queue notifications stop reaching the
     * device, its thread stops (closing the eventfds it owns), and the device (its file, TAP or socket) is closed.
     * A replaceable disk slot keeps its drive instead: the disk is taken out of it (the guest sees no sectors) and
     * closed. Returns what was plugged in.
     */
    Optional<VirtioConfig> unplug() {
        Plugged p = plugged;
        if (p == null || p.config() == null) {
            return Optional.empty();
        }
        ReplaceableBlockDevice d = drive;
        if (d != null) { // the drive stays, empty; its disk is closed
            java.util.concurrent.atomic.AtomicReference<Optional<BlockDevice>> out =
                    new java.util.concurrent.atomic.AtomicReference<>(Optional.empty());
            p.thread().call(() -> out.set(d.eject()));
            plugged = new Plugged(null, p.transport(), p.notifyFds(), p.thread());
            p.transport().configChanged();
            out.get().ifPresent(BlockDevice::close);
            return Optional.of(p.config());
        }
        p.thread().call(() -> { // on the device's thread: none of its handlers runs while it leaves the slot
            plugged = null;
            unregisterIoeventfds(p.notifyFds(), p.notifyFds().length);
        });
        p.thread().close();
        p.transport().device().close();
        return Optional.of(p.config());
    }

    /** Stops the device's thread and closes the device (machine shutdown), then the slot's interrupt eventfds. */
    void close() {
        Plugged p = plugged;
        plugged = null;
        if (p != null) {
            p.thread().close();
            p.transport().device().close();
        }
        irqFd.close();
        if (resampleFd != null) {
            resampleFd.close();
        }
    }

    @Override
    public void read(long offset, byte[] data) {
        Plugged p = plugged;
        if (p != null) {
            p.transport().read(offset, data);
            return;
        }
        java.util.Arrays.fill(data, (byte) 0);
        if (data.length != 4 || (offset & 3) != 0) {
            return;
        }
        int v = switch ((int) offset) {
            case 0x00 -> MmioTransport.MAGIC;
            case 0x04 -> MmioTransport.VERSION;
            case 0x0c -> MmioTransport.VENDOR_ID;
            default -> 0; // device ID 0: no device
        };
        for (int i = 0; i < 4; i++) {
            data[i] = (byte) (v >>> (8 * i));
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        Plugged p = plugged;
        if (p != null) {
            p.transport().write(offset, data);
        }
    }
}
