package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.VirtioDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One virtio-mmio slot of the microVM: a fixed register window and interrupt, described to the guest at boot, that
 * holds a device or nothing. An empty slot answers like QEMU's and StratoVirt's placeholder: magic, version 2 and
 * device ID 0, which Linux's virtio-mmio driver skips (-ENODEV); once a device is plugged in, re-probing the platform
 * device (the guest's bind) finds it. This is StratoVirt's "replaceable device" model of hot-plug on the microvm.
 *
 * <p>The interrupt is wired once for the slot's life: an irqfd (with a resample fd on level-triggered lines, see
 * {@link VirtioMmioBoard}). Each device's queue-notify ioeventfds and host fds come and go with the device, and are
 * changed on the device thread ({@link EventLoop#call}) so that no handler of an outgoing device is running.
 */
final class VirtioSlot implements BusDevice {
    /** The plugged-in device with what it registered. */
    private record Plugged(VirtioConfig config, MmioTransport transport, EventFd[] notifyFds, List<Integer> watchedFds) {
    }

    private final int index;
    private final long base;
    private final long size;
    private final Irq irq;
    /** The VM the slot's ioeventfds and interrupt are registered with; a machine reset moves the slot to a new one. */
    private volatile Vm vm;
    private final GuestMemory memory;
    private final EventLoop loop;
    private final EventFd irqFd = new EventFd(true);
    private final EventFd resampleFd;
    /** How a device's interrupt reaches the guest: the irqfd, or a KVM_IRQ_LINE pulse where irqfds make no edges. */
    private final Runnable signal;
    private final boolean useIrqfd;
    private volatile Plugged plugged;

    VirtioSlot(int index, long base, long size, Irq irq, boolean irqfdPulsesEdges, Vm vm, GuestMemory memory,
            EventLoop loop) {
        this.index = index;
        this.base = base;
        this.size = size;
        this.irq = irq;
        this.vm = vm;
        this.memory = memory;
        this.loop = loop;
        this.resampleFd = irq.levelTriggered() ? new EventFd(true) : null;
        this.useIrqfd = irq.levelTriggered() || irqfdPulsesEdges;
        this.signal = useIrqfd ? irqFd::signal : () -> {
            Vm v = this.vm;
            v.setIrqLine(irq.kvmLine(), true);
            v.setIrqLine(irq.kvmLine(), false);
        };
        if (resampleFd != null) {
            loop.addEventFd(resampleFd, () -> {
                Plugged p = plugged;
                if (p != null) {
                    p.transport().resample();
                }
            });
        }
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
     * pending) and moves its queue-notify ioeventfds to {@code newVm}, on the device thread. The interrupt follows
     * with {@link #connectInterrupt()} once the new VM's interrupt controller is complete. No vCPU may be running.
     */
    void moveTo(Vm newVm) {
        loop.call(() -> {
            vm = newVm;
            Plugged p = plugged;
            if (p != null) {
                p.transport().reset();
                for (int q = 0; q < p.notifyFds().length; q++) {
                    newVm.registerIoeventfd(p.notifyFds()[q], base + MmioTransport.QUEUE_NOTIFY, 4, false, (long) q);
                }
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
        return p == null ? Optional.empty() : Optional.of(p.config());
    }

    Optional<MmioTransport> transport() {
        Plugged p = plugged;
        return p == null ? Optional.empty() : Optional.of(p.transport());
    }

    /** Puts {@code device} into this empty slot: transport, queue-notify ioeventfds, host fd watches. */
    void plug(VirtioConfig config, VirtioDevice device) {
        loop.call(() -> {
            if (plugged != null) {
                throw new IllegalStateException("virtio-mmio slot " + index + " is in use by " + plugged.config().id());
            }
            int queues = device.queueSizes().size();
            EventFd[] notify = new EventFd[queues];
            for (int q = 0; q < queues; q++) {
                notify[q] = new EventFd(true);
            }
            MmioTransport transport = new MmioTransport(config.id(), device, memory, signal,
                    q -> notify[q].signal());
            List<Integer> watched = new ArrayList<>();
            for (int q = 0; q < queues; q++) {
                int queue = q;
                vm.registerIoeventfd(notify[q], base + MmioTransport.QUEUE_NOTIFY, 4, false, (long) q);
                loop.addEventFd(notify[q], () -> transport.notifyQueue(queue));
                watched.add(notify[q].fd());
            }
            for (VirtioDevice.Watch w : device.watches()) {
                loop.addEventFd(w.eventFd(), () -> transport.notifyQueue(w.queue()));
                watched.add(w.eventFd().fd());
            }
            plugged = new Plugged(config, transport, notify, watched);
        });
    }

    /**
     * Empties the slot: the guest's next register read sees device ID 0, its queue notifications stop reaching the
     * device, and the device (its file, TAP or socket) is closed. Returns what was plugged in.
     */
    Optional<VirtioConfig> unplug() {
        Plugged[] out = new Plugged[1];
        loop.call(() -> {
            Plugged p = plugged;
            if (p == null) {
                return;
            }
            plugged = null;
            for (int q = 0; q < p.notifyFds().length; q++) {
                vm.unregisterIoeventfd(p.notifyFds()[q], base + MmioTransport.QUEUE_NOTIFY, 4, false, (long) q);
            }
            for (int fd : p.watchedFds()) {
                loop.remove(fd);
            }
            p.transport().device().close();
            out[0] = p;
        });
        return out[0] == null ? Optional.empty() : Optional.of(out[0].config());
    }

    /** Closes the device (machine shutdown); the event loop owns and closes the fds it watches. */
    void close() {
        Plugged p = plugged;
        plugged = null;
        if (p != null) {
            p.transport().device().close();
        }
        irqFd.close();
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
