package dev.mesovirt.vmm.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.testing.Registers;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.VirtioDevice.QueueService;
import dev.mesovirt.vmm.virtio.VirtioException;
import dev.mesovirt.vmm.virtio.VirtioIds;
import dev.mesovirt.vmm.virtio.Virtqueue;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * VhostDevice (with the vsock model) behind a real virtio-mmio transport, driven the way Linux's virtio_mmio driver
 * does, against a fake back-end that records its requests.
 */
class VhostDeviceTest {
    static final long LOW = 0;
    static final long HIGH = 4L << 20;
    static final long MIB = 1L << 20;
    static final long CID = 42;
    static final int QSIZE = 64;
    static final long BACKEND_FEATURES = (1L << VirtioIds.F_VERSION_1) | (1L << VirtioIds.F_EVENT_IDX)
            | (1L << VhostVsock.F_SEQPACKET) | (1L << 24);

    GuestMemory mem;
    FakeVhostBackend backend;
    VhostDevice device;
    MmioTransport t;
    EventLoop loop;
    EventFd[] notify;
    final AtomicInteger signals = new AtomicInteger();

    @BeforeEach
    void setUp() {
        mem = GuestMemory.allocate(List.of(new GuestMemory.Region(LOW, MIB), new GuestMemory.Region(HIGH, MIB)));
    }

    @AfterEach
    void tearDown() {
        if (loop != null) {
            loop.close();
        }
        if (device != null) {
            device.close();
        }
        mem.close();
    }

    void build(boolean shareKick) throws VhostException {
        backend = new FakeVhostBackend(BACKEND_FEATURES, shareKick);
        device = new VhostDevice("vsock0", backend, new VhostVsock(CID, backend));
        notify = new EventFd[] {new EventFd(true), new EventFd(true), new EventFd(true)};
        t = new MmioTransport("vsock0", device, mem, signals::incrementAndGet, q -> notify[q].signal());
        loop = new EventLoop();
        t.connect(loop, notify);
    }

    int rd(long off) {
        return Registers.read32(t, off);
    }

    void wr(long off, int v) {
        Registers.write32(t, off, v);
    }

    static long desc(int q) {
        return HIGH + 0x10000 + q * 0x4000L;
    }

    /** Linux's virtio_mmio probe and virtio_vsock probe: features, three queues of QSIZE, DRIVER_OK. */
    void driverInit(long acked, long usedOfQueue1) {
        wr(0x70, 0);
        wr(0x70, 1);
        wr(0x70, 3);
        wr(0x24, 0);
        wr(0x20, (int) acked);
        wr(0x24, 1);
        wr(0x20, (int) (acked >>> 32));
        wr(0x70, 11);
        assertEquals(11, rd(0x70), "FEATURES_OK accepted");
        for (int q = 0; q < 3; q++) {
            wr(0x30, q);
            assertEquals(VhostVsock.QUEUE_SIZE, rd(0x34));
            wr(0x38, QSIZE);
            wr(0x80, (int) desc(q));
            wr(0x84, (int) (desc(q) >>> 32));
            wr(0x90, (int) (desc(q) + 0x1000));
            wr(0xa0, (int) (q == 1 ? usedOfQueue1 : desc(q) + 0x2000));
            wr(0x44, 1);
        }
        wr(0x70, 15);
    }

    static final long ACKED = (1L << VirtioIds.F_VERSION_1) | (1L << VirtioIds.F_EVENT_IDX) | (1L << VhostVsock.F_SEQPACKET);

    List<String> startSequence() {
        List<String> s = new ArrayList<>(List.of("SET_FEATURES 0x" + Long.toHexString(ACKED), "SET_MEM_TABLE 2"));
        for (int q = 0; q < 2; q++) {
            s.addAll(List.of("SET_VRING_NUM " + q + " " + QSIZE, "SET_VRING_BASE " + q + " 0", "SET_VRING_ADDR " + q,
                    "SET_VRING_KICK " + q, "SET_VRING_CALL " + q, "SET_VRING_ENABLE " + q + " 1"));
        }
        s.add("SET_RUNNING 1");
        return s;
    }

    @Test
    void offersWhatTheBackendSupportsAndShowsTheCid() throws Exception {
        build(true);
        assertEquals(List.of("SET_OWNER", "GET_FEATURES"), backend.log);
        assertEquals(VirtioIds.TYPE_VSOCK, rd(0x08));
        wr(0x14, 0);
        int low = rd(0x10);
        wr(0x14, 1);
        int high = rd(0x10);
        assertEquals((1 << VhostVsock.F_SEQPACKET) | (1 << VirtioIds.F_EVENT_IDX), low,
                "SEQPACKET and EVENT_IDX; no INDIRECT_DESC (the back-end lacks it), no vhost-only bits");
        assertEquals(1, high, "VERSION_1");
        assertEquals((int) CID, rd(0x100));
        assertEquals(0, rd(0x104));
        assertEquals(QueueService.BACKEND, device.queueService(0));
        assertEquals(QueueService.BACKEND, device.queueService(1));
        assertEquals(QueueService.DEVICE_THREAD, device.queueService(2));
    }

    @Test
    void driverOkHandsTheRingsToTheBackendInOrder() throws Exception {
        build(true);
        backend.log.clear();
        driverInit(ACKED, desc(1) + 0x2000);
        assertEquals(15, rd(0x70), "DRIVER_OK, not NEEDS_RESET");
        assertEquals(startSequence(), backend.log);
        // Guest RAM as two regions at their host mappings.
        assertEquals(List.of(VhostMemoryRegion.anonymous(LOW, MIB, mem.hostAddress(LOW)),
                VhostMemoryRegion.anonymous(HIGH, MIB, mem.hostAddress(HIGH))), backend.memTable);
        for (int q = 0; q < 2; q++) {
            VringAddress a = backend.rings.get(q);
            assertEquals(desc(q), a.descGuest());
            assertEquals(mem.hostAddress(desc(q)), a.descUser());
            assertEquals(mem.hostAddress(desc(q) + 0x1000), a.availUser());
            assertEquals(mem.hostAddress(desc(q) + 0x2000), a.usedUser());
            assertEquals(0, a.flags());
            // KVM's ioeventfd target itself, and a call eventfd of the transport's.
            assertSame(notify[q], backend.kicks.get(q));
        }
        assertNotSame(backend.calls.get(0), backend.calls.get(1));
        assertFalse(backend.rings.containsKey(2), "the event queue stays with the VMM");
    }

    @Test
    void aCallBecomesTheQueueInterrupt() throws Exception {
        build(true);
        driverInit(ACKED, desc(1) + 0x2000);
        loop.start("virtio-vsock0");
        int before = signals.get();
        backend.calls.get(1).signal();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while ((rd(0x60) & VirtioIds.INT_USED_RING) == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(VirtioIds.INT_USED_RING, rd(0x60) & VirtioIds.INT_USED_RING);
        assertTrue(signals.get() > before, "the interrupt line was signalled");
    }

    @Test
    void resetStopsTheDeviceAndTakesTheRingsBack() throws Exception {
        build(true);
        driverInit(ACKED, desc(1) + 0x2000);
        backend.log.clear();
        wr(0x70, 0);
        assertEquals(List.of("SET_RUNNING 0", "GET_VRING_BASE 0", "GET_VRING_BASE 1"), backend.log);
        assertEquals(0, rd(0x70));
        // The driver starts again (e.g. after a guest kexec): the same set-up from scratch.
        backend.log.clear();
        driverInit(ACKED, desc(1) + 0x2000);
        assertEquals(startSequence(), backend.log.subList(backend.log.indexOf("SET_FEATURES 0x"
                + Long.toHexString(ACKED)), backend.log.size()));
        backend.log.clear();
        device.close();
        device = null;
        assertEquals(List.of("SET_RUNNING 0", "GET_VRING_BASE 0", "GET_VRING_BASE 1", "CLOSE"), backend.log);
    }

    @Test
    void aRingOutsideGuestRamNeverReachesTheBackend() throws Exception {
        build(true);
        backend.log.clear();
        // Queue 1's used ring runs past the end of the high region.
        driverInit(ACKED, HIGH + MIB - 0x100);
        assertEquals(VirtioIds.STATUS_DEVICE_NEEDS_RESET, rd(0x70) & VirtioIds.STATUS_DEVICE_NEEDS_RESET);
        assertEquals(List.of(), backend.log);
        assertTrue((rd(0x60) & VirtioIds.INT_CONFIG) != 0, "configuration-change interrupt");
    }

    @Test
    void ringAddressesAreCheckedAgainstEachRegion() throws Exception {
        Virtqueue q = new Virtqueue(QSIZE);
        q.setDescTable(HIGH);
        q.setAvailRing(HIGH + 0x1000);
        q.setUsedRing(MIB - 8); // in the gap between the regions after 8 bytes
        VirtioException e = assertThrows(VirtioException.class, () -> VhostDevice.ringAddress(mem, 1, q));
        assertTrue(e.getMessage().contains("queue 1's used ring at 0xffff8"), e.getMessage());
        q.setUsedRing(0x2000);
        VringAddress a = VhostDevice.ringAddress(mem, 1, q);
        assertEquals(mem.hostAddress(0x2000), a.usedUser());
        assertEquals(mem.hostAddress(HIGH), a.descUser());
    }

    @Test
    void aBackendThatRefusesTheSetUpMarksTheDeviceNeedsReset() throws Exception {
        build(true);
        backend.failOn = "SET_VRING_ADDR";
        backend.log.clear();
        driverInit(ACKED, desc(1) + 0x2000);
        assertEquals(VirtioIds.STATUS_DEVICE_NEEDS_RESET, rd(0x70) & VirtioIds.STATUS_DEVICE_NEEDS_RESET);
        assertFalse(backend.log.contains("SET_RUNNING 1"));
        assertEquals("GET_VRING_BASE 0", backend.log.get(backend.log.size() - 1),
                "the queue it had been given is taken back");
        // The driver resets and tries again; this time the back-end agrees.
        backend.failOn = null;
        backend.log.clear();
        driverInit(ACKED, desc(1) + 0x2000);
        assertEquals(15, rd(0x70));
        assertTrue(backend.log.containsAll(startSequence()));
    }

    @Test
    void aBackendThatCannotShareKvmsEventfdGetsNotificationsRelayed() throws Exception {
        build(false);
        assertEquals(QueueService.BACKEND_RELAYED, device.queueService(0));
        driverInit(ACKED, desc(1) + 0x2000);
        EventFd kick = backend.kicks.get(0);
        assertNotSame(notify[0], kick);
        kick.consume();
        t.notifyQueue(0);
        assertEquals(1, kick.consume(), "the notification reached the back-end's own kick eventfd");
    }

    @Test
    void aNewCallTargetReachesARunningBackendAndTheNextStart() throws Exception {
        build(true);
        EventFd irqfd = new EventFd(true);
        try {
            device.setCallTarget(1, irqfd);
            assertFalse(backend.log.contains("SET_VRING_CALL 1"), "not running yet: kept for the start");
            driverInit(ACKED, desc(1) + 0x2000);
            assertSame(irqfd, backend.calls.get(1));
            EventFd call0 = backend.calls.get(0);
            backend.log.clear();
            device.setCallTarget(0, irqfd);
            assertEquals(List.of("SET_VRING_CALL 0"), backend.log, "a running back-end is told at once");
            assertSame(irqfd, backend.calls.get(0));
            device.setCallTarget(0, call0);
            assertSame(call0, backend.calls.get(0));
        } finally {
            irqfd.close();
        }
    }

    @Test
    void theCidIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> new VhostVsock(2, null));
        assertThrows(IllegalArgumentException.class, () -> new VhostVsock(0xffff_ffffL, null));
        assertThrows(IllegalArgumentException.class, () -> new VhostVsock(-1, null));
        assertEquals(3, new VhostVsock(3, null).guestCid());
        assertEquals(0xffff_fffeL, new VhostVsock(0xffff_fffeL, null).guestCid());
    }
}
