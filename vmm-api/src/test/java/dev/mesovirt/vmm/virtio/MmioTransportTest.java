package dev.mesovirt.vmm.virtio;

import static dev.mesovirt.vmm.virtio.VirtqueueTest.AVAIL;
import static dev.mesovirt.vmm.virtio.VirtqueueTest.DESC;
import static dev.mesovirt.vmm.virtio.VirtqueueTest.USED;
import static dev.mesovirt.vmm.virtio.VirtqueueTest.desc;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import dev.mesovirt.vmm.testing.HostRequirement;
import dev.mesovirt.vmm.testing.Registers;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MmioTransportTest {
    @TempDir
    Path dir;
    GuestMemory mem;
    MmioTransport t;
    final AtomicInteger signals = new AtomicInteger();
    final List<Integer> notified = new ArrayList<>();
    int availIdx;

    @BeforeEach
    void setUp() {
        mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)));
    }

    @AfterEach
    void tearDown() {
        mem.close();
    }

    int rd(long off) {
        return Registers.read32(t, off);
    }

    void wr(long off, int v) {
        Registers.write32(t, off, v);
    }

    MmioTransport transport(VirtioDevice d) {
        t = new MmioTransport("test", d, mem, signals::incrementAndGet, notified::add);
        return t;
    }

    /** The Linux driver's sequence (virtio_mmio.c + virtio.c) up to DRIVER_OK with one queue of 16. */
    void driverInit(long features) {
        driverInit(features, 0);
    }

    /** As {@link #driverInit(long)}, with the queue's rings {@code rings} bytes above DESC, AVAIL and USED. */
    void driverInit(long features, long rings) {
        wr(0x70, 0);
        wr(0x70, 1);
        wr(0x70, 3);
        wr(0x24, 0);
        wr(0x20, (int) features);
        wr(0x24, 1);
        wr(0x20, (int) (features >>> 32));
        wr(0x70, 11);
        assertEquals(11, rd(0x70), "FEATURES_OK accepted");
        wr(0x30, 0);
        assertEquals(0, rd(0x44));
        wr(0x38, 16);
        wr(0x80, (int) (DESC + rings));
        wr(0x84, 0);
        wr(0x90, (int) (AVAIL + rings));
        wr(0xa0, (int) (USED + rings));
        wr(0x44, 1);
        wr(0x70, 15);
    }

    void offer(int head) {
        mem.writeShort(AVAIL + 4 + 2L * (availIdx % 16), (short) head);
        mem.writeShort(AVAIL + 2, (short) ++availIdx);
        wr(0x50, 0);
        t.notifyQueue(0);
    }

    @Test
    void registersAndFeatureNegotiation() throws Exception {
        Path img = Files.write(dir.resolve("d.img"), new byte[8192]);
        transport(new BlockDevice("blk0", img, true, false, null));
        assertEquals(0x74726976, rd(0));
        assertEquals(2, rd(4));
        assertEquals(2, rd(8));
        wr(0x14, 1);
        assertEquals(1, rd(0x10) & 1, "VERSION_1 in the high half");
        wr(0x14, 0);
        int low = rd(0x10);
        assertTrue((low & (1 << BlockDevice.F_RO)) != 0, "read-only advertised");
        assertTrue((low & (1 << VirtioIds.F_EVENT_IDX)) != 0);
        // Capacity in sectors at config offset 0.
        assertEquals(16, rd(0x100));
        // No shared memory region, whichever SHMSel picks: length all ones (0 would be a region of 0 bytes at 0).
        for (int id : new int[] {0, 1, 255}) {
            wr(0xac, id);
            assertEquals(-1, rd(0xb0), "SHMLenLow");
            assertEquals(-1, rd(0xb4), "SHMLenHigh");
        }
        // A legacy driver (no VERSION_1) is refused FEATURES_OK.
        wr(0x70, 1);
        wr(0x70, 3);
        wr(0x24, 0);
        wr(0x20, 1 << BlockDevice.F_RO);
        wr(0x70, 11);
        assertEquals(3, rd(0x70));
        wr(0x70, 0);
        assertEquals(0, rd(0x70), "reset");
        // Features the device does not offer are refused too.
        wr(0x70, 1);
        wr(0x70, 3);
        wr(0x24, 1);
        wr(0x20, 1 | 2);
        wr(0x70, 11);
        assertEquals(3, rd(0x70));
    }

    @Test
    void blockReadWriteFlushGetIdAndErrors() throws Exception {
        byte[] init = new byte[64 * 512];
        for (int i = 0; i < init.length; i++) {
            init[i] = (byte) (i / 512);
        }
        Path img = Files.write(dir.resolve("d.img"), init);
        transport(new BlockDevice("blk0", img, false, false, "SER-1"));
        driverInit(1L << VirtioIds.F_VERSION_1);
        long hdr = 0x10000;
        long data = 0x20000;
        long status = 0x30000;
        // Read sector 5 into a buffer.
        request(hdr, BlockDevice.T_IN, 5, data, 1024, true, status);
        assertEquals(0, mem.readByte(status));
        assertEquals(5, mem.readByte(data));
        assertEquals(6, mem.readByte(data + 1023));
        assertEquals(1025, mem.readInt(USED + 8));
        assertTrue(signals.get() > 0 && (rd(0x60) & 1) != 0, "used-ring interrupt");
        wr(0x64, 1);
        assertEquals(0, rd(0x60));
        // Write sector 2, flush, read the file.
        mem.write(data, new byte[512]);
        mem.writeByte(data, (byte) 0x77);
        request(hdr, BlockDevice.T_OUT, 2, data, 512, false, status);
        assertEquals(0, mem.readByte(status));
        request(hdr, BlockDevice.T_FLUSH, 0, data, 0, false, status);
        assertEquals(0, mem.readByte(status));
        assertEquals(0x77, Files.readAllBytes(img)[1024]);
        // Beyond the end: IOERR. Unknown type: UNSUPP. get-id: the serial.
        request(hdr, BlockDevice.T_IN, 64, data, 512, true, status);
        assertEquals(BlockDevice.S_IOERR, mem.readByte(status));
        request(hdr, 99, 0, data, 512, true, status);
        assertEquals(BlockDevice.S_UNSUPP, mem.readByte(status));
        request(hdr, BlockDevice.T_GET_ID, 0, data, 20, true, status);
        assertArrayEquals("SER-1".getBytes(), mem.read(data, 5));
        assertEquals(0, mem.readByte(data + 5));
        // A chain that loops: DEVICE_NEEDS_RESET and a config interrupt; then nothing is processed until reset.
        desc(mem, DESC, 0, hdr, 16, Virtqueue.DESC_F_NEXT, 0);
        offer(0);
        assertEquals(0x40, rd(0x70) & 0x40);
        assertEquals(2, rd(0x60) & 2);
        wr(0x70, 0);
        assertEquals(0, rd(0x70));
        driverInit(1L << VirtioIds.F_VERSION_1);
        availIdx = 0;
        request(hdr, BlockDevice.T_IN, 0, data, 512, true, status);
        assertEquals(0, mem.readByte(status));
    }

    /**
     * StratoVirt's replaceable disk: probed empty (no sectors, reads fail), a disk inserted under the running driver
     * with a configuration-change interrupt serves its queue at once, and ejecting it leaves an empty drive again.
     */
    @Test
    void aReplaceableDiskDriveTakesAndLosesItsMediumUnderTheRunningDriver() throws Exception {
        byte[] init = new byte[32 * 512];
        java.util.Arrays.fill(init, (byte) 0x3c);
        Path img = Files.write(dir.resolve("hot.img"), init);
        ReplaceableBlockDevice drive = new ReplaceableBlockDevice("slot1");
        transport(drive);
        assertEquals(2, rd(0x08), "a virtio-blk device from boot");
        assertEquals(0, rd(0x10) & ((1 << BlockDevice.F_RO) | (1 << BlockDevice.F_BLK_SIZE)), "plain 512-byte sectors");
        assertEquals(0, rd(0x100), "no sectors while empty");
        driverInit(1L << VirtioIds.F_VERSION_1);
        long hdr = 0x10000;
        long data = 0x20000;
        long status = 0x30000;
        request(hdr, BlockDevice.T_IN, 0, data, 512, true, status);
        assertEquals(BlockDevice.S_IOERR, mem.readByte(status), "an empty drive reads nothing");
        int generation = rd(0xfc);
        wr(0x64, rd(0x60));

        BlockDevice disk = new BlockDevice("hot", img, false, false, "HOT-1");
        drive.insert(disk);
        t.configChanged();
        assertEquals(2, rd(0x60) & 2, "configuration-change interrupt");
        assertTrue(rd(0xfc) != generation, "a new configuration generation");
        assertEquals(32, rd(0x100), "the disk's capacity");
        assertEquals(0, rd(0x10) & (1 << BlockDevice.F_RO), "features stay as probed");
        request(hdr, BlockDevice.T_IN, 3, data, 512, true, status);
        assertEquals(BlockDevice.S_OK, mem.readByte(status));
        assertEquals(0x3c, mem.readByte(data + 511));
        request(hdr, BlockDevice.T_GET_ID, 0, data, 20, true, status);
        assertArrayEquals("HOT-1".getBytes(), mem.read(data, 5));
        assertEquals(java.util.Optional.of(disk), drive.medium());
        assertEquals("the drive holds a disk already", org.junit.jupiter.api.Assertions.assertThrows(
                IllegalStateException.class, () -> drive.insert(disk)).getMessage());

        wr(0x64, rd(0x60));
        assertEquals(java.util.Optional.of(disk), drive.eject());
        t.configChanged();
        disk.close();
        assertEquals(2, rd(0x60) & 2);
        assertEquals(0, rd(0x100), "empty again");
        request(hdr, BlockDevice.T_IN, 0, data, 512, true, status);
        assertEquals(BlockDevice.S_IOERR, mem.readByte(status));
        assertEquals(java.util.Optional.empty(), drive.eject());

        // A disk inserted before the driver runs is the one the driver finds.
        wr(0x70, 0);
        BlockDevice again = new BlockDevice("hot", img, true, false, null);
        drive.insert(again);
        assertEquals(32, rd(0x100));
        availIdx = 0;
        driverInit(1L << VirtioIds.F_VERSION_1);
        request(hdr, BlockDevice.T_OUT, 0, data, 512, false, status);
        assertEquals(BlockDevice.S_IOERR, mem.readByte(status), "a read-only medium refuses writes");
        request(hdr, BlockDevice.T_IN, 0, data, 512, true, status);
        assertEquals(BlockDevice.S_OK, mem.readByte(status));
        drive.close();
        assertEquals(java.util.Optional.empty(), drive.medium());
    }

    /** Level-triggered semantics over a resampling irqfd: re-assert at EOI only while InterruptStatus is set. */
    @Test
    void resampleReassertsOnlyWhileInterruptStatusIsSet() throws Exception {
        Path src = Files.write(dir.resolve("src"), new byte[] {1, 2, 3, 4});
        transport(new RngDevice("rng", src));
        driverInit(1L << VirtioIds.F_VERSION_1);
        t.resample();
        assertEquals(0, signals.get(), "nothing pending: the line stays low");
        desc(mem, DESC, 0, 0x20000, 4, Virtqueue.DESC_F_WRITE, 0);
        offer(0);
        assertEquals(1, signals.get());
        t.resample(); // EOI without an ACK (another device shared the vector, say): still pending
        assertEquals(2, signals.get());
        wr(0x64, 1);
        t.resample();
        assertEquals(2, signals.get(), "acknowledged: not re-asserted");
    }

    @Test
    void readOnlyWritesFail() throws Exception {
        Path img = Files.write(dir.resolve("ro.img"), new byte[4096]);
        transport(new BlockDevice("blk0", img, true, false, null));
        driverInit(1L << VirtioIds.F_VERSION_1);
        mem.writeByte(0x20000, (byte) 1);
        request(0x10000, BlockDevice.T_OUT, 0, 0x20000, 512, false, 0x30000);
        assertEquals(BlockDevice.S_IOERR, mem.readByte(0x30000));
        assertEquals(0, Files.readAllBytes(img)[0]);
    }

    @Test
    void rngFillsWritableBuffers() throws Exception {
        Path src = Files.write(dir.resolve("src"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        transport(new RngDevice("rng", src));
        driverInit(1L << VirtioIds.F_VERSION_1);
        desc(mem, DESC, 0, 0x20000, 8, Virtqueue.DESC_F_WRITE, 0);
        offer(0);
        assertEquals(8, mem.readInt(USED + 8));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, mem.read(0x20000, 8));
    }

    /** The stalled device's rings and buffer, clear of the other's. */
    private static final long STALLED_RINGS = 0x40000;
    private static final long STALLED_BUFFER = 0x50000;

    /**
     * Two live RNGs, each behind its transport with one queue-notify eventfd and an 8-byte buffer offered on its
     * ring: one whose entropy source is a FIFO nothing is written to yet, and one on a file. {@code slowThread} and
     * {@code rngThread} are connected and started; the FIFO's RNG is notified, as KVM does on the guest's QueueNotify
     * write, and this returns once its thread is blocked in the device's read, as one in a slow fsync would be.
     * Returns the FIFO: writing 8 bytes to it releases the device.
     */
    private Path stallOneAndOfferTheOther(EventFd rngNotify, EventLoop slowThread, EventLoop rngThread,
            List<Integer> open) throws Exception {
        Path fifo = dir.resolve("slow-source");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor(), "mkfifo");
        open.add(Sys.open(fifo.toString(), LibC.O_RDWR)); // a writer, so that the device's open does not wait
        MmioTransport slow = transport(new RngDevice("slow", fifo));
        driverInit(1L << VirtioIds.F_VERSION_1, STALLED_RINGS);
        desc(mem, DESC + STALLED_RINGS, 0, STALLED_BUFFER, 8, Virtqueue.DESC_F_WRITE, 0);
        mem.writeShort(AVAIL + STALLED_RINGS + 2, (short) 1);
        MmioTransport rng = transport(new RngDevice("rng", Files.write(dir.resolve("src"),
                new byte[] {1, 2, 3, 4, 5, 6, 7, 8})));
        driverInit(1L << VirtioIds.F_VERSION_1);
        desc(mem, DESC, 0, 0x20000, 8, Virtqueue.DESC_F_WRITE, 0);
        mem.writeShort(AVAIL + 2, (short) 1);
        EventFd slowNotify = new EventFd(true);
        slow.connect(slowThread, new EventFd[] {slowNotify});
        rng.connect(rngThread, new EventFd[] {rngNotify});
        slowThread.start("virtio-slow");
        rngThread.start("virtio-rng");
        slowNotify.signal();
        awaitInRead("virtio-slow");
        return fifo;
    }

    /** Waits (5 s at most) until the thread named {@code name} is inside RngDevice.process, reading its source. */
    private static void awaitInRead(String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            for (Map.Entry<Thread, StackTraceElement[]> t : Thread.getAllStackTraces().entrySet()) {
                if (t.getKey().getName().equals(name) && Arrays.stream(t.getValue()).anyMatch(f ->
                        f.getClassName().equals(RngDevice.class.getName()) && f.getMethodName().equals("process"))) {
                    return;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError(name + " never got into RngDevice.process");
    }

    /** The used index of the ring at {@code USED + rings} once it is 1, or what it is after {@code millis}. */
    private int usedWithin(long rings, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (mem.readShort(USED + rings + 2) == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return mem.readShort(USED + rings + 2);
    }

    /**
     * Each device on a thread of its own, as both boards give it: a device stalled in its queue work (its backend's
     * read does not return, as a slow fsync would not) holds only its own thread, and another device's notification
     * is served meanwhile.
     */
    @Test
    void aStalledDeviceHoldsOnlyItsOwnThread() throws Exception {
        EventFd rngNotify = new EventFd(true);
        List<Integer> open = new ArrayList<>();
        try (EventLoop slowThread = new EventLoop(); EventLoop rngThread = new EventLoop()) {
            try {
                Path fifo = stallOneAndOfferTheOther(rngNotify, slowThread, rngThread, open);
                rngNotify.signal();
                assertEquals(1, usedWithin(0, 5000), "the RNG's request is served while the other device stalls");
                assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, mem.read(0x20000, 8));
                assertEquals(0, usedWithin(STALLED_RINGS, 0), "the other is still stalled");
                Files.write(fifo, new byte[] {9, 9, 9, 9, 9, 9, 9, 9});
                assertEquals(1, usedWithin(STALLED_RINGS, 5000), "and is served once its backend answers");
            } finally {
                open.forEach(Fds::closeQuietly); // the FIFO's last writer: a read still waiting ends (EOF)
            }
        }
    }

    /**
     * The same two devices on one shared thread, as the machine's single device thread had them: the RNG's
     * notification waits behind the stalled device and is served once that one is done. (What
     * {@link #aStalledDeviceHoldsOnlyItsOwnThread} would see if the devices shared a thread.)
     */
    @Test
    void onOneSharedThreadAStalledDeviceStallsTheOther() throws Exception {
        EventFd rngNotify = new EventFd(true);
        List<Integer> open = new ArrayList<>();
        try (EventLoop shared = new EventLoop()) {
            try {
                Path fifo = stallOneAndOfferTheOther(rngNotify, shared, shared, open);
                rngNotify.signal();
                assertEquals(0, usedWithin(0, 500), "the RNG's request waits behind the stalled device");
                Files.write(fifo, new byte[] {9, 9, 9, 9, 9, 9, 9, 9});
                assertEquals(1, usedWithin(STALLED_RINGS, 5000));
                assertEquals(1, usedWithin(0, 5000), "and is served once the stalled device is done");
            } finally {
                open.forEach(Fds::closeQuietly);
            }
        }
    }

    void request(long hdr, int type, long sector, long data, int len, boolean deviceWrites, long status) {
        mem.writeInt(hdr, type);
        mem.writeInt(hdr + 4, 0);
        mem.writeLong(hdr + 8, sector);
        mem.writeByte(status, (byte) 0xff);
        desc(mem, DESC, 0, hdr, 16, Virtqueue.DESC_F_NEXT, 1);
        if (len > 0) {
            desc(mem, DESC, 1, data, len, Virtqueue.DESC_F_NEXT | (deviceWrites ? Virtqueue.DESC_F_WRITE : 0), 2);
            desc(mem, DESC, 2, status, 1, Virtqueue.DESC_F_WRITE, 0);
        } else {
            desc(mem, DESC, 1, status, 1, Virtqueue.DESC_F_WRITE, 0);
        }
        offer(0);
    }

    /**
     * Where O_DIRECT images can live: the build's target directory (the module's working directory under Maven, on
     * the disk the checkout is on), then the user's cache; not the temporary directory, often a tmpfs without it.
     */
    private static final List<Path> DIRECT_IO_DIRECTORIES = List.of(Path.of("target"),
            Path.of(System.getProperty("user.home"), ".cache"));

    /**
     * A direct=on block device on an image in the first of {@link #DIRECT_IO_DIRECTORIES} whose file system takes
     * O_DIRECT; none: the test fails under CI and is skipped elsewhere, with what each directory said.
     */
    private static BlockDevice directImage(List<Path> created) throws java.io.IOException {
        List<String> refused = new ArrayList<>();
        for (Path base : DIRECT_IO_DIRECTORIES) {
            Files.createDirectories(base);
            Path img = Files.createTempFile(base, "mesovirt-direct", ".img");
            created.add(img);
            Files.write(img, new byte[64 * 1024]);
            try {
                return new BlockDevice("blk0", img, false, true, null);
            } catch (java.io.IOException e) {
                refused.add(base.toAbsolutePath() + ": " + e.getMessage());
            }
        }
        HostRequirement.require(false, "no directory here takes O_DIRECT (" + String.join("; ", refused) + ")");
        throw new AssertionError("unreachable");
    }

    /** direct=on: O_DIRECT through an aligned bounce buffer, on a file system that has it. */
    @Test
    void directIo() throws Exception {
        List<Path> created = new ArrayList<>();
        try {
            BlockDevice d = directImage(created);
            Path img = created.get(created.size() - 1);
            transport(d);
            driverInit(1L << VirtioIds.F_VERSION_1);
            int bs = rd(0x100 + 20);
            assertTrue(bs >= 512 && Integer.bitCount(bs) == 1, "blk_size " + bs);
            for (int i = 0; i < bs; i++) {
                mem.writeByte(0x20000 + i, (byte) i);
            }
            request(0x10000, BlockDevice.T_OUT, bs / 512, 0x20000, bs, false, 0x30000);
            assertEquals(0, mem.readByte(0x30000));
            mem.zero(0x40000, bs);
            request(0x10000, BlockDevice.T_IN, bs / 512, 0x40000, bs, true, 0x30000);
            assertEquals(0, mem.readByte(0x30000));
            assertArrayEquals(mem.read(0x20000, bs), mem.read(0x40000, bs));
            assertEquals((byte) 1, Files.readAllBytes(img)[bs + 1]);
            d.close();
        } finally {
            for (Path p : created) {
                Files.deleteIfExists(p);
            }
        }
    }
}
