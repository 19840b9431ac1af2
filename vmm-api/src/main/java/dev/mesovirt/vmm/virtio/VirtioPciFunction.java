package dev.mesovirt.vmm.virtio;

import static dev.mesovirt.vmm.virtio.VirtioIds.*;

import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.pci.Bar;
import dev.mesovirt.vmm.pci.ConfigSpace;
import dev.mesovirt.vmm.pci.MsixTable;
import dev.mesovirt.vmm.pci.PciFunction;
import dev.mesovirt.vmm.pci.PciHeader;
import dev.mesovirt.vmm.pci.PciIdentity;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio 1.x PCI transport (virtio 1.2 section 4.1), modern only: a PCI function over the same
 * {@link TransportCore} and device backends as virtio-mmio. Vendor 0x1af4, device 0x1040 + type, revision 1, with
 * QEMU's class codes and layout:
 * <ul>
 *   <li>BAR 4, 64-bit prefetchable memory, 16 KiB: common configuration at 0x0000, ISR at 0x1000, device
 *       configuration at 0x2000, notifications at 0x3000 (queue {@code n} at 0x3000 + 4n: notify_off_multiplier 4,
 *       so each queue has its own address and its ioeventfd needs no data match);
 *   <li>BAR 1, 32-bit memory: the MSI-X table (one vector per queue plus one for configuration changes) at 0 and the
 *       pending bits at 0x800;
 *   <li>vendor-specific capabilities for the four regions and the PCI configuration access window, then MSI-X;
 *   <li>INTA with the ISR (read to acknowledge) while MSI-X is disabled.
 * </ul>
 * The queues' ioeventfds follow BAR 4 through an {@link IoEventRegistrar}; queue work runs on the device's own thread
 * ({@link #connect}), as on virtio-mmio.
 */
public final class VirtioPciFunction implements PciFunction {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioPciFunction.class);
    public static final int VENDOR_ID = 0x1af4;
    public static final int DEVICE_ID_BASE = 0x1040;
    public static final int SUBSYSTEM_ID = 0x1100;
    public static final int MSIX_BAR = 1;
    public static final int CONFIG_BAR = 4;
    public static final long CONFIG_BAR_SIZE = 0x4000;
    public static final long COMMON_CFG = 0x0000;
    public static final long ISR_CFG = 0x1000;
    public static final long DEVICE_CFG = 0x2000;
    public static final long NOTIFY_CFG = 0x3000;
    static final long REGION_SIZE = 0x1000;
    public static final int NOTIFY_OFF_MULTIPLIER = 4;
    public static final int NO_VECTOR = 0xffff;
    /** Vendor-specific capability types (cfg_type). */
    public static final int CAP_COMMON = 1;
    public static final int CAP_NOTIFY = 2;
    public static final int CAP_ISR = 3;
    public static final int CAP_DEVICE = 4;
    public static final int CAP_PCI_CFG = 5;
    static final int COMMON_CFG_SIZE = 0x3c;

    private final TransportCore core;
    private final PciHeader header;
    private final MsixTable msix;
    private final IoEventRegistrar ioEvents;
    private final EventFd[] notifyFds;
    private final AtomicInteger isr = new AtomicInteger();
    /** MSI-X vector per queue and for configuration changes; guarded by the core's lock. */
    private final int[] queueVectors;
    private int configVector = NO_VECTOR;
    /** Where each back-end-served queue's back-end signals now (its call eventfd or its vector's irqfd); core's lock. */
    private final EventFd[] callTargets;
    private final int pciCfgCap;
    /** Where BAR 4 is mapped (ioeventfds registered), or -1; guarded by the notify fds' array. */
    private long notifyBase = -1;

    /**
     * @param name for logs
     * @param ioEvents registers the queues' notify ioeventfds where the guest maps BAR 4
     */
    public VirtioPciFunction(String name, VirtioDevice device, GuestMemory memory, IoEventRegistrar ioEvents) {
        this.ioEvents = ioEvents;
        int queues = device.queueSizes().size();
        if (queues > REGION_SIZE / NOTIFY_OFF_MULTIPLIER) {
            throw new IllegalArgumentException(name + ": " + queues + " queues do not fit the notify region");
        }
        this.queueVectors = new int[queues];
        Arrays.fill(queueVectors, NO_VECTOR);
        this.notifyFds = new EventFd[queues];
        this.callTargets = new EventFd[queues];
        for (int q = 0; q < queues; q++) {
            notifyFds[q] = new EventFd(true);
        }
        this.core = new TransportCore(name, device, memory, new Events());
        int vectors = queues + 1;
        MsixTable[] table = new MsixTable[1];
        BusDevice msixRegion = new BusDevice() {
            @Override
            public void read(long offset, byte[] data) {
                table[0].region().read(offset, data);
            }

            @Override
            public void write(long offset, byte[] data) {
                table[0].region().write(offset, data);
                refreshCallTargets(); // a vector (un)masked
            }
        };
        int type = device.deviceType();
        PciIdentity id = new PciIdentity(VENDOR_ID, DEVICE_ID_BASE + type, 1, classCode(type), VENDOR_ID, SUBSYSTEM_ID);
        this.header = PciHeader.endpoint(id, ConfigSpace.CONVENTIONAL, 1, Map.of(
                MSIX_BAR, new Bar(Bar.Type.MEMORY32, false, MsixTable.barSize(vectors), msixRegion, Bar.Listener.NONE),
                CONFIG_BAR, Bar.memory64(CONFIG_BAR_SIZE, true, new ConfigRegion(), new NotifyPlacement())));
        ConfigSpace c = header.config();
        addCap(c, CAP_COMMON, 16, COMMON_CFG, REGION_SIZE);
        addCap(c, CAP_ISR, 16, ISR_CFG, REGION_SIZE);
        addCap(c, CAP_DEVICE, 16, DEVICE_CFG, REGION_SIZE);
        int notify = addCap(c, CAP_NOTIFY, 20, NOTIFY_CFG, REGION_SIZE);
        c.set32(notify + 16, NOTIFY_OFF_MULTIPLIER);
        // VIRTIO_PCI_CAP_PCI_CFG: bar, offset and length chosen by the driver, data accessed through the window.
        pciCfgCap = addCap(c, CAP_PCI_CFG, 20, 0, 0);
        c.set8(pciCfgCap + 4, 0);
        c.setWritable(pciCfgCap + 4, 1, 0xff);
        c.setWritable(pciCfgCap + 8, 4, 0xffff_ffff);
        c.setWritable(pciCfgCap + 12, 4, 0xffff_ffff);
        c.setWritable(pciCfgCap + 16, 4, 0xffff_ffff);
        this.msix = new MsixTable(header, vectors, MSIX_BAR, 0, 0x800);
        table[0] = msix;
        header.powerOnStateDone();
    }

    /** The class code QEMU gives each device type (base class, subclass, programming interface). */
    static int classCode(int deviceType) {
        return switch (deviceType) {
            case TYPE_NET -> 0x020000;
            case TYPE_BLOCK, TYPE_FS -> 0x018000; // mass storage, other (vhost-user-fs-pci: PCI_CLASS_STORAGE_OTHER)
            case TYPE_CONSOLE, TYPE_VSOCK -> 0x078000;
            default -> 0x00ff00;
        };
    }

    private static int addCap(ConfigSpace c, int type, int length, long offset, long size) {
        int at = c.addCapability(0x09, length);
        c.set8(at + 2, length);
        c.set8(at + 3, type);
        c.set8(at + 4, type == CAP_PCI_CFG ? 0 : CONFIG_BAR);
        c.set32(at + 8, (int) offset);
        c.set32(at + 12, (int) size);
        return at;
    }

    @Override
    public PciHeader header() {
        return header;
    }

    public VirtioDevice device() {
        return core.device();
    }

    public int queueCount() {
        return notifyFds.length;
    }

    public int status() {
        return core.status();
    }

    public MsixTable msix() {
        return msix;
    }

    /** The eventfd a guest notification of queue {@code q} signals (through the ioeventfd or a BAR write). */
    public EventFd notifyFd(int q) {
        return notifyFds[q];
    }

    /**
     * Puts the device's work on {@code loop}, its own device thread: the queues' notify eventfds and the device's
     * watches; the loop owns and closes those eventfds from now on (closing the loop is how the device leaves it).
     * Call once, before the loop starts or on its thread ({@link EventLoop#call}).
     */
    public void connect(EventLoop loop) {
        core.connect(loop, notifyFds);
        refreshCallTargets();
    }

    /**
     * Points each back-end-served queue's back-end at its MSI-X vector's irqfd while that vector may deliver, so that
     * the interrupt goes from the back-end to KVM without this process (as QEMU does for vhost); else at the queue's
     * call eventfd, which the device's thread turns into the interrupt through the MSI-X table (pending bit while
     * masked) or INTx. Run after everything that changes it: MSI-X enable and function mask, bus mastering, a
     * vector's mask bit, the queue's vector, a reset.
     */
    private void refreshCallTargets() {
        synchronized (core) {
            for (int q = 0; q < callTargets.length; q++) {
                EventFd call = core.callFd(q);
                if (call == null) {
                    continue;
                }
                EventFd target = call;
                if (msix.enabled() && queueVectors[q] != NO_VECTOR) {
                    target = msix.irqfd(queueVectors[q]).orElse(call);
                }
                if (target != callTargets[q]) {
                    callTargets[q] = target;
                    core.device().setCallTarget(q, target);
                }
            }
        }
    }

    /** Queue {@code index} was notified: runs the device's work. Called on the device's thread. */
    public void notifyQueue(int index) {
        core.notifyQueue(index);
    }

    /** Whether the device is running (DRIVER_OK and not broken). */
    public boolean isLive() {
        return core.isLive();
    }

    @Override
    public int readConfig(int offset, int size) {
        if (PciHeader.overlaps(offset, size, pciCfgCap + 16, 4)) {
            byte[] data = pciCfgAccess();
            if (data != null) {
                int v = 0;
                for (int i = 0; i < data.length; i++) {
                    v |= (data[i] & 0xff) << (8 * i);
                }
                header.config().set32(pciCfgCap + 16, v);
            }
        }
        return header.readConfig(offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        header.writeConfig(offset, size, value);
        msix.configWritten(offset, size);
        if (msix.enabled()) {
            header.setIntx(false); // MSI-X replaces INTA (QEMU lowers it too)
        }
        refreshCallTargets();
        if (PciHeader.overlaps(offset, size, pciCfgCap + 16, 4)) {
            int v = header.config().get32(pciCfgCap + 16);
            byte[] data = pciCfgAccess();
            if (data != null) {
                for (int i = 0; i < data.length; i++) {
                    data[i] = (byte) (v >>> (8 * i));
                }
                pciCfgRegion().write(header.config().get32(pciCfgCap + 8) & 0xffffffffL, data);
            }
        }
    }

    /**
     * The PCI configuration access window: a buffer of the driver's length (1, 2 or 4) filled from the BAR it chose
     * at the offset it chose, or null when the choice is not a valid aligned access into one of our BARs.
     */
    private byte[] pciCfgAccess() {
        ConfigSpace c = header.config();
        long offset = c.get32(pciCfgCap + 8) & 0xffffffffL;
        long length = c.get32(pciCfgCap + 12) & 0xffffffffL;
        BusDevice region = pciCfgRegion();
        Bar bar = header.bar(c.get8(pciCfgCap + 4));
        if (region == null || bar == null || (length != 1 && length != 2 && length != 4) || offset % length != 0
                || offset + length > bar.size()) {
            return null;
        }
        byte[] data = new byte[(int) length];
        region.read(offset, data);
        return data;
    }

    private BusDevice pciCfgRegion() {
        int index = header.config().get8(pciCfgCap + 4);
        Bar bar = index <= 5 ? header.bar(index) : null;
        return bar == null ? null : bar.region();
    }

    @Override
    public void detach() {
        header.detach();
        msix.releaseRoutes();
        core.reset();
    }

    @Override
    public void reset() {
        header.reset();
        msix.reset();
        core.reset();
    }

    /** Delivers the core's interrupts: MSI-X vectors when enabled, else ISR bits and INTA. */
    private final class Events implements TransportCore.Events {
        @Override
        public void queueInterrupt(int index) {
            if (msix.enabled()) {
                int v = queueVectors[index];
                if (v != NO_VECTOR) {
                    msix.signal(v);
                }
                return;
            }
            isr.getAndUpdate(s -> s | INT_USED_RING);
            header.setIntx(true);
        }

        @Override
        public void configInterrupt() {
            isr.getAndUpdate(s -> s | INT_CONFIG);
            if (msix.enabled()) {
                if (configVector != NO_VECTOR) {
                    msix.signal(configVector);
                }
                return;
            }
            header.setIntx(true);
        }

        @Override
        public void kick(int index) {
            notifyFds[index].signal();
        }

        @Override
        public void reset() {
            Arrays.fill(queueVectors, NO_VECTOR);
            configVector = NO_VECTOR;
            isr.set(0);
            header.setIntx(false);
            refreshCallTargets();
        }
    }

    /** BAR 4: the common configuration, ISR, device configuration and notification regions. */
    private final class ConfigRegion implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            Arrays.fill(data, (byte) 0);
            if (offset >= COMMON_CFG && offset < COMMON_CFG + REGION_SIZE) {
                readCommon(offset - COMMON_CFG, data);
            } else if (offset == ISR_CFG) {
                // Reading the ISR acknowledges it and lowers INTA.
                data[0] = (byte) isr.getAndSet(0);
                header.setIntx(false);
            } else if (offset >= DEVICE_CFG && offset < DEVICE_CFG + REGION_SIZE) {
                core.readDeviceConfig(offset - DEVICE_CFG, data);
            }
        }

        @Override
        public void write(long offset, byte[] data) {
            if (offset >= COMMON_CFG && offset < COMMON_CFG + REGION_SIZE) {
                writeCommon(offset - COMMON_CFG, data);
            } else if (offset >= DEVICE_CFG && offset < DEVICE_CFG + REGION_SIZE) {
                core.writeDeviceConfig(offset - DEVICE_CFG, data);
            } else if (offset >= NOTIFY_CFG && offset < NOTIFY_CFG + REGION_SIZE) {
                // A notification the ioeventfd did not take (another size, or before it was registered).
                long q = (offset - NOTIFY_CFG) / NOTIFY_OFF_MULTIPLIER;
                if ((offset - NOTIFY_CFG) % NOTIFY_OFF_MULTIPLIER == 0 && q < notifyFds.length) {
                    notifyFds[(int) q].signal();
                }
            }
        }
    }

    /** struct virtio_pci_common_cfg, read as bytes so that any size and alignment has a defined result. */
    private void readCommon(long offset, byte[] data) {
        if (offset >= COMMON_CFG_SIZE) {
            return;
        }
        byte[] cfg = new byte[COMMON_CFG_SIZE];
        synchronized (core) {
            Virtqueue q = core.selectedQueue();
            int sel = core.queueSelected();
            put(cfg, 0x00, 4, core.deviceFeaturesSelected());
            put(cfg, 0x04, 4, core.deviceFeatureWord());
            put(cfg, 0x08, 4, core.driverFeaturesSelected());
            put(cfg, 0x0c, 4, core.driverFeatureWord());
            put(cfg, 0x10, 2, configVector);
            put(cfg, 0x12, 2, core.queueCount());
            put(cfg, 0x14, 1, core.status());
            put(cfg, 0x15, 1, core.configGeneration());
            put(cfg, 0x16, 2, sel);
            if (q != null) {
                put(cfg, 0x18, 2, q.size());
                put(cfg, 0x1a, 2, queueVectors[sel]);
                put(cfg, 0x1c, 2, q.ready() ? 1 : 0);
                put(cfg, 0x1e, 2, sel);
                put(cfg, 0x20, 8, q.descTable());
                put(cfg, 0x28, 8, q.availRing());
                put(cfg, 0x30, 8, q.usedRing());
                put(cfg, 0x38, 2, sel);
            } else {
                put(cfg, 0x1a, 2, NO_VECTOR);
            }
        }
        for (int i = 0; i < data.length && offset + i < COMMON_CFG_SIZE; i++) {
            data[i] = cfg[(int) offset + i];
        }
    }

    private static void put(byte[] b, int at, int size, long v) {
        for (int i = 0; i < size; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    /** Writes of each field at its own width (the 64-bit addresses also as two dwords); anything else is ignored. */
    private void writeCommon(long offset, byte[] data) {
        int size = data.length;
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (data[i] & 0xffL) << (8 * i);
        }
        int w = (int) v;
        synchronized (core) {
            Virtqueue q = core.selectedQueue();
            boolean queueWritable = core.selectedQueueWritable();
            switch ((int) offset << 4 | size) {
                case 0x00 << 4 | 4 -> core.selectDeviceFeatures(w);
                case 0x08 << 4 | 4 -> core.selectDriverFeatures(w);
                case 0x0c << 4 | 4 -> core.writeDriverFeatureWord(w);
                case 0x10 << 4 | 2 -> configVector = acceptedVector(w);
                case 0x14 << 4 | 1 -> core.writeStatus(w & 0xff);
                case 0x16 << 4 | 2 -> core.selectQueue(w);
                case 0x18 << 4 | 2 -> {
                    if (queueWritable) {
                        q.setSize(w);
                    }
                }
                case 0x1a << 4 | 2 -> {
                    if (q != null) {
                        queueVectors[core.queueSelected()] = acceptedVector(w);
                        refreshCallTargets();
                    }
                }
                case 0x1c << 4 | 2 -> {
                    if (w == 1) {
                        core.setSelectedQueueReady(true); // the driver never writes 0 (4.1.4.3.2)
                    }
                }
                case 0x20 << 4 | 8 -> { if (queueWritable) q.setDescTable(v); }
                case 0x20 << 4 | 4 -> { if (queueWritable) q.setDescTable(MmioTransport.low(q.descTable(), w)); }
                case 0x24 << 4 | 4 -> { if (queueWritable) q.setDescTable(MmioTransport.high(q.descTable(), w)); }
                case 0x28 << 4 | 8 -> { if (queueWritable) q.setAvailRing(v); }
                case 0x28 << 4 | 4 -> { if (queueWritable) q.setAvailRing(MmioTransport.low(q.availRing(), w)); }
                case 0x2c << 4 | 4 -> { if (queueWritable) q.setAvailRing(MmioTransport.high(q.availRing(), w)); }
                case 0x30 << 4 | 8 -> { if (queueWritable) q.setUsedRing(v); }
                case 0x30 << 4 | 4 -> { if (queueWritable) q.setUsedRing(MmioTransport.low(q.usedRing(), w)); }
                case 0x34 << 4 | 4 -> { if (queueWritable) q.setUsedRing(MmioTransport.high(q.usedRing(), w)); }
                default -> { }
            }
        }
    }

    /** A vector the table has, or NO_VECTOR: the driver reads back NO_VECTOR for a vector refused. */
    private int acceptedVector(int v) {
        v &= 0xffff;
        return v < msix.vectors() ? v : NO_VECTOR;
    }

    /** Moves the queues' ioeventfds with BAR 4. */
    private final class NotifyPlacement implements Bar.Listener {
        @Override
        public void mapped(long address) {
            synchronized (notifyFds) {
                notifyBase = address;
                for (int q = 0; q < notifyFds.length; q++) {
                    try {
                        ioEvents.register(notifyFds[q], address + NOTIFY_CFG + (long) q * NOTIFY_OFF_MULTIPLIER, 2);
                    } catch (RuntimeException e) {
                        // Notifications still arrive, as BAR writes: slower, not lost.
                        LOG.warn("{}: queue {} notify ioeventfd not registered: {}", core.name(), q, e.toString());
                    }
                }
            }
        }

        @Override
        public void unmapped(long address) {
            synchronized (notifyFds) {
                for (int q = 0; q < notifyFds.length; q++) {
                    try {
                        ioEvents.unregister(notifyFds[q], address + NOTIFY_CFG + (long) q * NOTIFY_OFF_MULTIPLIER, 2);
                    } catch (RuntimeException e) {
                        LOG.warn("{}: queue {} notify ioeventfd not unregistered: {}", core.name(), q, e.toString());
                    }
                }
                notifyBase = -1;
            }
        }
    }

    /** Where the queues' ioeventfds are registered now (BAR 4's address), or -1. */
    public long notifyBase() {
        synchronized (notifyFds) {
            return notifyBase;
        }
    }

    /** Closes the notify eventfds of a function never handed to an event loop ({@link #connect}). */
    public void closeUnconnected() {
        for (EventFd fd : notifyFds) {
            fd.close();
        }
    }
}
