package dev.mesovirt.vmm.virtio;

import static dev.mesovirt.vmm.virtio.VirtqueueTest.AVAIL;
import static dev.mesovirt.vmm.virtio.VirtqueueTest.DESC;
import static dev.mesovirt.vmm.virtio.VirtqueueTest.USED;
import static dev.mesovirt.vmm.virtio.VirtqueueTest.desc;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.pci.BarMapper;
import dev.mesovirt.vmm.pci.MsiRouter;
import dev.mesovirt.vmm.pci.PciHeader;
import dev.mesovirt.vmm.pci.MsiVector;
import dev.mesovirt.vmm.pci.PciRoot;
import dev.mesovirt.vmm.pci.PcieRootPort;
import dev.mesovirt.vmm.sys.EventFd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The virtio-pci transport driven the way Linux's virtio_pci_modern driver drives it: find the capabilities by
 * walking the list, reset, negotiate, set up a queue through the common configuration, assign MSI-X vectors, notify,
 * and receive the MSI; behind a PCIe root port with the firmware's resource assignment, as on the standard machine.
 */
class VirtioPciFunctionTest {
    static final PciLayout LAYOUT = new PciLayout(0xb000_0000L, 256,
            Optional.of(new PciLayout.Window(0xc000, 0x4000)), new PciLayout.Window(0xc000_0000L, 0x3ea0_0000L),
            Optional.of(new PciLayout.Window(0x4_0000_0000L, 32L << 30)), true, PciLayout.HostBridgeId.Q35_MCH);

    @TempDir
    Path dir;
    GuestMemory mem;
    final Bus mmio = new Bus("mmio");
    final List<String> ioevents = new ArrayList<>();
    final Map<Long, EventFd> ioeventAt = new HashMap<>();
    final List<String> msis = new ArrayList<>();
    final boolean[] lines = new boolean[4];
    PciRoot root;
    VirtioPciFunction f;
    int bus;
    long bar4;
    int common;
    int notifyCap;
    int isrCap;
    int deviceCap;
    int pciCfgCap;
    int availIdx;

    final BarMapper mapper = new BarMapper() {
        @Override
        public void map(BusKind space, long address, long size, BusDevice region, String name) {
            mmio.insert(address, size, region, name);
        }

        @Override
        public void unmap(BusKind space, long address, BusDevice region) {
            mmio.remove(address);
        }
    };

    /** The irqfd of each vector the router made, by its message data. */
    final Map<Integer, EventFd> irqfds = new HashMap<>();

    final MsiRouter router = requesterId -> new MsiVector() {
        int data;
        final EventFd irqfd = new EventFd(true);

        @Override
        public void program(long address, int d) {
            data = d;
            irqfds.put(d, irqfd);
        }

        @Override
        public void signal() {
            msis.add("msi " + data);
        }

        @Override
        public Optional<EventFd> irqfd() {
            return Optional.of(irqfd);
        }

        @Override
        public void close() {
            irqfd.close();
        }
    };

    /**
     * The entropy device, or (with {@code backend} set before the function is connected) a device whose queue 0 a
     * back-end serves, which records where the transport tells it to signal.
     */
    static final class MaybeBackendDevice implements VirtioDevice {
        final RngDevice rng;
        boolean backend;
        final List<EventFd> callTargets = new ArrayList<>();
        QueueEventFds eventFds;

        MaybeBackendDevice(RngDevice rng) {
            this.rng = rng;
        }

        @Override
        public int deviceType() {
            return rng.deviceType();
        }

        @Override
        public long features() {
            return rng.features();
        }

        @Override
        public List<Integer> queueSizes() {
            return rng.queueSizes();
        }

        @Override
        public void readConfig(long offset, byte[] data) {
            rng.readConfig(offset, data);
        }

        @Override
        public void activate(GuestMemory memory, List<Virtqueue> queues, long acked, QueueInterrupt interrupt) {
            rng.activate(memory, queues, acked, interrupt);
        }

        @Override
        public void process(int index) throws VirtioException {
            rng.process(index);
        }

        @Override
        public void reset() {
            rng.reset();
        }

        @Override
        public QueueService queueService(int index) {
            return backend ? QueueService.BACKEND : QueueService.DEVICE_THREAD;
        }

        @Override
        public void attach(QueueEventFds fds) {
            eventFds = fds;
        }

        @Override
        public void setCallTarget(int index, EventFd target) {
            callTargets.add(target);
        }

        EventFd lastTarget() {
            return callTargets.get(callTargets.size() - 1);
        }

        @Override
        public void close() {
            rng.close();
        }
    }

    MaybeBackendDevice device;

    final IoEventRegistrar registrar = new IoEventRegistrar() {
        @Override
        public void register(EventFd fd, long address, int length) {
            ioevents.add("+" + Long.toHexString(address) + "/" + length);
            ioeventAt.put(address, fd);
        }

        @Override
        public void unregister(EventFd fd, long address, int length) {
            ioevents.add("-" + Long.toHexString(address) + "/" + length);
            ioeventAt.remove(address);
        }
    };

    @BeforeEach
    void setUp() throws Exception {
        mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)));
        List<dev.mesovirt.vmm.device.IrqLine> intx = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int line = i;
            intx.add(level -> lines[line] = level);
        }
        root = new PciRoot(LAYOUT, intx, mapper, router);
        Path src = Files.write(dir.resolve("entropy"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        device = new MaybeBackendDevice(new RngDevice("rng0", src));
        f = new VirtioPciFunction("rng0", device, mem, registrar);
        PcieRootPort port = new PcieRootPort(root, 1, PcieRootPort.Reserve.DEFAULT, x -> {});
        root.bus().attach(1, 0, port);
        port.insert(f);
        root.assignResources();
        bus = cfg(0, 1, 0x19, 1);
    }

    @AfterEach
    void tearDown() {
        f.closeUnconnected();
        mem.close();
    }

    int cfg(int b, int d, int reg, int size) {
        return root.readConfig(b, d, 0, reg, size);
    }

    int cfg(int reg, int size) {
        return root.readConfig(bus, 0, 0, reg, size);
    }

    void cfgWrite(int reg, int size, int v) {
        root.writeConfig(bus, 0, 0, reg, size, v);
    }

    long rd(long offset, int size) {
        byte[] b = new byte[size];
        assertTrue(mmio.read(bar4 + offset, b), "BAR 4 answers at 0x" + Long.toHexString(offset));
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (b[i] & 0xffL) << (8 * i);
        }
        return v;
    }

    void wr(long offset, int size, long v) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        assertTrue(mmio.write(bar4 + offset, b));
    }

    /** virtio_pci_find_capability: the vendor capabilities by cfg_type, and BAR 4's address. */
    void findCapabilities() {
        assertEquals(0x10, cfg(0x06, 2) & 0x10);
        Map<Integer, Integer> byType = new HashMap<>();
        int seen = 0;
        for (int at = cfg(0x34, 1); at != 0 && seen < 48; at = cfg(at + 1, 1), seen++) {
            if (cfg(at, 1) == 0x09) {
                byType.putIfAbsent(cfg(at + 3, 1), at);
            }
        }
        common = byType.get(VirtioPciFunction.CAP_COMMON);
        notifyCap = byType.get(VirtioPciFunction.CAP_NOTIFY);
        isrCap = byType.get(VirtioPciFunction.CAP_ISR);
        deviceCap = byType.get(VirtioPciFunction.CAP_DEVICE);
        pciCfgCap = byType.get(VirtioPciFunction.CAP_PCI_CFG);
        assertEquals(4, cfg(common + 4, 1), "common cfg in BAR 4");
        int barIndex = cfg(common + 4, 1);
        bar4 = (cfg(0x10 + 4 * barIndex, 4) & 0xfffffff0L) | (cfg(0x14 + 4 * barIndex, 4) & 0xffffffffL) << 32;
        assertEquals(bar4, f.header().mappedAddress(4));
    }

    long capOffset(int cap) {
        return cfg(cap + 8, 4) & 0xffffffffL;
    }

    /** vp_modern_probe + virtio_dev_probe up to DRIVER_OK with queue 0 of 16 entries on MSI-X vector 1. */
    void driverInit(boolean msix) {
        findCapabilities();
        long c = capOffset(common);
        if (msix) {
            int cap = f.msix().capability();
            cfgWrite(cap + 2, 2, 0xc000); // enable + function mask while the table is set up
            long table = (cfg(0x14, 4) & 0xfffffff0L);
            for (int v = 0; v < 2; v++) {
                mmioWrite(table + 16L * v, 4, 0xfee0_0000L);
                mmioWrite(table + 16L * v + 4, 4, 0);
                mmioWrite(table + 16L * v + 8, 4, 0x40 + v);
                mmioWrite(table + 16L * v + 12, 4, 0);
            }
            cfgWrite(cap + 2, 2, 0x8000);
        }
        wr(c + 0x14, 1, 0);
        assertEquals(0, rd(c + 0x14, 1), "reset done");
        wr(c + 0x14, 1, 1);
        wr(c + 0x14, 1, 3);
        wr(c + 0x00, 4, 1);
        assertEquals(1, rd(c + 0x04, 4) & 1, "VERSION_1 (bit 32)");
        wr(c + 0x08, 4, 0);
        wr(c + 0x0c, 4, 0);
        wr(c + 0x08, 4, 1);
        wr(c + 0x0c, 4, 1);
        wr(c + 0x14, 1, 11);
        assertEquals(11, rd(c + 0x14, 1), "FEATURES_OK kept");
        if (msix) {
            wr(c + 0x10, 2, 0);
            assertEquals(0, rd(c + 0x10, 2), "config vector 0");
        }
        assertEquals(1, rd(c + 0x12, 2), "num_queues");
        wr(c + 0x16, 2, 0);
        assertEquals(64, rd(c + 0x18, 2), "queue_size: the maximum");
        wr(c + 0x18, 2, 16);
        if (msix) {
            wr(c + 0x1a, 2, 1);
            assertEquals(1, rd(c + 0x1a, 2));
        }
        // vp_iowrite64_twopart: low then high dwords.
        wr(c + 0x20, 4, DESC);
        wr(c + 0x24, 4, 0);
        wr(c + 0x28, 4, AVAIL);
        wr(c + 0x2c, 4, 0);
        wr(c + 0x30, 4, USED);
        wr(c + 0x34, 4, 0);
        wr(c + 0x1c, 2, 1);
        assertEquals(1, rd(c + 0x1c, 2));
        wr(c + 0x14, 1, 15);
        assertTrue(f.isLive());
    }

    void mmioWrite(long address, int size, long v) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        mmio.write(address, b);
    }

    /** Offers a writable 8-byte buffer on queue 0 and notifies it as Linux does (a 16-bit write of the index). */
    void offerAndNotify() {
        desc(mem, DESC, 0, 0x20000, 8, Virtqueue.DESC_F_WRITE, 0);
        mem.writeShort(AVAIL + 4 + 2L * (availIdx % 16), (short) 0);
        mem.writeShort(AVAIL + 2, (short) ++availIdx);
        long notifyOff = rd(capOffset(common) + 0x1e, 2) * (cfg(notifyCap + 16, 4) & 0xffffffffL);
        long address = bar4 + capOffset(notifyCap) + notifyOff;
        EventFd ioeventfd = ioeventAt.get(address);
        assertTrue(ioeventfd != null, "an ioeventfd at the queue's notify address");
        ioeventfd.signal(); // what KVM does for the guest's write
        assertTrue(f.notifyFd(0).consume() > 0);
        f.notifyQueue(0); // what the event loop does
    }

    @Test
    void classCodesAreQemus() {
        assertEquals(0x020000, VirtioPciFunction.classCode(VirtioIds.TYPE_NET), "network, Ethernet");
        assertEquals(0x018000, VirtioPciFunction.classCode(VirtioIds.TYPE_BLOCK), "mass storage, other");
        assertEquals(0x018000, VirtioPciFunction.classCode(VirtioIds.TYPE_FS), "vhost-user-fs-pci: storage, other");
        assertEquals(0x078000, VirtioPciFunction.classCode(VirtioIds.TYPE_CONSOLE), "communication, other");
        assertEquals(0x00ff00, VirtioPciFunction.classCode(VirtioIds.TYPE_RNG), "unclassified");
    }

    @Test
    void identityAndCapabilities() {
        assertEquals(0x1044_1af4, cfg(0, 4), "vendor 0x1af4, device 0x1040 + 4 (entropy)");
        assertEquals(0x00ff_0001, cfg(0x08, 4), "class 0x00ff00 as QEMU's virtio-rng-pci, revision 1");
        assertEquals(0x1100_1af4, cfg(0x2c, 4));
        assertEquals(1, cfg(0x3d, 1), "INTA");
        findCapabilities();
        assertEquals(0x0, capOffset(common));
        assertEquals(0x1000, capOffset(isrCap));
        assertEquals(0x2000, capOffset(deviceCap));
        assertEquals(0x3000, capOffset(notifyCap));
        assertEquals(20, cfg(notifyCap + 2, 1), "cap_len with notify_off_multiplier");
        assertEquals(4, cfg(notifyCap + 16, 4));
        assertEquals(0x1000, cfg(common + 12, 4), "length");
        assertEquals(0xc, cfg(0x20, 4) & 0xf, "BAR 4: 64-bit prefetchable memory");
        assertEquals(0x0, cfg(0x14, 4) & 0xf, "BAR 1: 32-bit memory (MSI-X)");
        assertEquals(1, cfg(f.msix().capability() + 2, 2) & 0x7ff, "2 MSI-X vectors: queue + config");
        assertTrue(bar4 >= 0x4_0000_0000L, "the 64-bit BAR in the 64-bit window");
        assertEquals(List.of("+" + Long.toHexString(bar4 + 0x3000) + "/2"), ioevents);
    }

    @Test
    void msixQueueInterrupt() {
        driverInit(true);
        offerAndNotify();
        assertEquals(8, mem.readInt(USED + 8), "8 bytes of entropy written");
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, mem.read(0x20000, 8));
        assertEquals(List.of("msi 65"), msis, "queue 0's vector (data 0x41)");
        assertFalse(lines[0] || lines[1] || lines[2] || lines[3], "no INTx under MSI-X");
        // A masked vector keeps its message pending until unmasked.
        long table = cfg(0x14, 4) & 0xfffffff0L;
        mmioWrite(table + 16 + 12, 4, 1);
        offerAndNotify();
        assertEquals(1, msis.size());
        mmioWrite(table + 16 + 12, 4, 0);
        assertEquals(List.of("msi 65", "msi 65"), msis);
    }

    @Test
    void aBackendSignalsTheVectorsIrqfdWhileTheVectorMayDeliver() throws Exception {
        device.backend = true;
        try (EventLoop loop = new EventLoop()) {
            f.connect(loop);
            EventFd call = device.eventFds.call().get(0);
            assertEquals(call, device.lastTarget(), "the call eventfd until MSI-X is set up");
            driverInit(true);
            EventFd vector1 = irqfds.get(0x41);
            assertEquals(vector1, device.lastTarget(), "queue 0's vector (data 0x41), straight to KVM");
            // Masked: back to the call eventfd, whose signal the device thread makes a pending bit.
            long table = cfg(0x14, 4) & 0xfffffff0L;
            mmioWrite(table + 16 + 12, 4, 1);
            assertEquals(call, device.lastTarget());
            loop.start("virtio-test");
            call.signal();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!f.msix().pending(1) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(f.msix().pending(1), "the back-end's interrupt is pending while the vector is masked");
            assertTrue(msis.isEmpty());
            mmioWrite(table + 16 + 12, 4, 0);
            assertEquals(List.of("msi 65"), msis, "delivered at unmask");
            assertEquals(vector1, device.lastTarget());
            // The function mask, MSI-X off, bus mastering off: the call eventfd each time.
            int cap = f.msix().capability();
            cfgWrite(cap + 2, 2, 0xc000);
            assertEquals(call, device.lastTarget());
            cfgWrite(cap + 2, 2, 0x8000);
            assertEquals(vector1, device.lastTarget());
            cfgWrite(cap + 2, 2, 0);
            assertEquals(call, device.lastTarget());
            cfgWrite(cap + 2, 2, 0x8000);
            assertEquals(vector1, device.lastTarget());
            cfgWrite(0x04, 2, cfg(0x04, 2) & ~4);
            assertEquals(call, device.lastTarget());
            cfgWrite(0x04, 2, cfg(0x04, 2) | 4);
            assertEquals(vector1, device.lastTarget());
            // The queue loses its vector at a reset.
            wr(capOffset(common) + 0x14, 1, 0);
            assertEquals(call, device.lastTarget());
        }
    }

    @Test
    void vectorOutOfRangeReadsBackNoVector() {
        findCapabilities();
        long c = capOffset(common);
        wr(c + 0x1a, 2, 7);
        assertEquals(VirtioPciFunction.NO_VECTOR, rd(c + 0x1a, 2));
        wr(c + 0x10, 2, 2);
        assertEquals(VirtioPciFunction.NO_VECTOR, rd(c + 0x10, 2));
        wr(c + 0x10, 2, 1);
        assertEquals(1, rd(c + 0x10, 2));
        wr(c + 0x16, 2, 5); // no queue 5
        assertEquals(0, rd(c + 0x18, 2), "queue_size 0: unavailable");
        assertEquals(VirtioPciFunction.NO_VECTOR, rd(c + 0x1a, 2));
        wr(c + 0x1a, 2, 0);
        wr(c + 0x14, 1, 0);
        assertEquals(VirtioPciFunction.NO_VECTOR, rd(c + 0x10, 2), "reset forgets the vectors");
    }

    @Test
    void intxAndIsrWithoutMsix() {
        driverInit(false);
        offerAndNotify();
        int line = (1 + 0) % 4; // behind the port at device 1: INTA -> INTA of the port -> (1 + 0) % 4
        assertTrue(lines[line]);
        assertEquals(PciHeader.STATUS_INTERRUPT, cfg(0x06, 2) & PciHeader.STATUS_INTERRUPT);
        assertEquals(1, rd(capOffset(isrCap), 1), "ISR: queue interrupt");
        assertFalse(lines[line], "reading the ISR acknowledges");
        assertEquals(0, rd(capOffset(isrCap), 1));
        assertTrue(msis.isEmpty());
    }

    @Test
    void needsResetRaisesTheConfigVector() {
        driverInit(true);
        desc(mem, DESC, 0, 0x20000, 16, Virtqueue.DESC_F_NEXT, 0); // a loop
        mem.writeShort(AVAIL + 4, (short) 0);
        mem.writeShort(AVAIL + 2, (short) 1);
        f.notifyQueue(0);
        long c = capOffset(common);
        assertEquals(0x40, rd(c + 0x14, 1) & 0x40, "DEVICE_NEEDS_RESET");
        assertEquals(1, rd(c + 0x15, 1), "config generation moved");
        assertEquals(List.of("msi 64"), msis, "the config vector (data 0x40)");
        assertEquals(2, rd(capOffset(isrCap), 1) & 2, "ISR config bit");
    }

    @Test
    void legacyDriverIsRefused() {
        findCapabilities();
        long c = capOffset(common);
        wr(c + 0x14, 1, 1);
        wr(c + 0x14, 1, 3);
        wr(c + 0x08, 4, 0);
        wr(c + 0x0c, 4, 1 << VirtioIds.F_EVENT_IDX);
        wr(c + 0x14, 1, 11);
        assertEquals(3, rd(c + 0x14, 1), "no VERSION_1: FEATURES_OK refused");
        wr(c + 0x00, 4, 1);
        long high = rd(c + 0x04, 4);
        assertEquals(1, high, "only VERSION_1 above bit 31: no ACCESS_PLATFORM, RING_PACKED, RING_RESET...");
    }

    @Test
    void ioeventfdsFollowTheBar() {
        findCapabilities();
        long old = bar4;
        int lowReg = 0x20;
        cfgWrite(lowReg, 4, (int) (old + 0x10_0000L));
        assertEquals(1, ioevents.size(), "half written: not moved");
        cfgWrite(lowReg + 4, 4, (int) ((old + 0x10_0000L) >>> 32));
        assertEquals(List.of("+" + Long.toHexString(old + 0x3000) + "/2", "-" + Long.toHexString(old + 0x3000) + "/2",
                "+" + Long.toHexString(old + 0x10_3000) + "/2"), ioevents);
        cfgWrite(0x04, 2, 0);
        assertEquals("-" + Long.toHexString(old + 0x10_3000) + "/2", ioevents.get(3));
        assertEquals(-1, f.notifyBase());
    }

    @Test
    void notifyByBarWriteWakesTheQueue() {
        driverInit(true);
        wr(0x3000, 4, 0); // a 4-byte write: not the ioeventfd's size, so an exit
        assertTrue(f.notifyFd(0).consume() > 0);
        wr(0x3004, 2, 1); // no queue 1
        assertEquals(0, f.notifyFd(0).consume());
    }

    @Test
    void deviceConfigAndPciCfgWindow() throws Exception {
        findCapabilities();
        // Through the VIRTIO_PCI_CAP_PCI_CFG window: num_queues at common cfg offset 0x12, 2 bytes.
        cfgWrite(pciCfgCap + 4, 1, 4);
        cfgWrite(pciCfgCap + 8, 4, 0x12);
        cfgWrite(pciCfgCap + 12, 4, 2);
        assertEquals(1, cfg(pciCfgCap + 16, 4) & 0xffff);
        // A write through it: device_status ACKNOWLEDGE.
        cfgWrite(pciCfgCap + 8, 4, 0x14);
        cfgWrite(pciCfgCap + 12, 4, 1);
        cfgWrite(pciCfgCap + 16, 4, 1);
        assertEquals(1, rd(0x14, 1));
        // A misaligned choice is ignored.
        cfgWrite(pciCfgCap + 8, 4, 0x13);
        cfgWrite(pciCfgCap + 12, 4, 2);
        cfgWrite(pciCfgCap + 16, 4, 0);
        assertEquals(1, rd(0x14, 1));
    }

    @Test
    void machineResetAndReassignment() {
        driverInit(true);
        root.reset();
        assertEquals(0, f.status());
        assertFalse(f.isLive());
        assertTrue(ioeventAt.isEmpty(), "ioeventfds unregistered with the BAR");
        root.assignResources();
        findCapabilities();
        driverInit(true);
        offerAndNotify();
        assertEquals(List.of("msi 65"), msis);
    }

    @Test
    void garbageAccessesNeverThrow() {
        driverInit(true);
        Random rnd = new Random(42);
        int[] sizes = {1, 2, 4, 8};
        long table = cfg(0x14, 4) & 0xfffffff0L;
        for (int i = 0; i < 20_000; i++) {
            byte[] data = new byte[sizes[rnd.nextInt(4)]];
            rnd.nextBytes(data);
            long address = rnd.nextBoolean() ? bar4 + rnd.nextInt(0x4000) : table + rnd.nextInt(0x1000);
            if (rnd.nextBoolean()) {
                mmio.write(address, data);
            } else {
                mmio.read(address, data);
            }
            if (rnd.nextInt(8) == 0) {
                root.writeConfig(bus, 0, 0, rnd.nextInt(256), 1 << rnd.nextInt(3), rnd.nextInt());
            }
            if (rnd.nextInt(16) == 0) {
                f.notifyQueue(rnd.nextInt(3) - 1);
            }
        }
        root.reset();
        root.assignResources();
        findCapabilities();
        driverInit(true);
        msis.clear();
        availIdx = 0;
        offerAndNotify();
        assertEquals(List.of("msi 65"), msis, "works again after the storm and a reset");
    }
}
