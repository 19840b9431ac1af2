package dev.mesovirt.vmm.vhost.user;

import static dev.mesovirt.vmm.vhost.user.VhostUserCodec.Request.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.event.EventLoop;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.Sys;
import dev.mesovirt.vmm.sys.UnixSocket;
import dev.mesovirt.vmm.vhost.VhostDevice;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.VirtioIds;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The virtio-fs device: its configuration space byte for byte (struct virtio_fs_config), and the whole chain, a real
 * virtio-mmio transport driven as Linux's driver does, VhostDevice, the front-end and a back-end on a real UNIX
 * socket: what the back-end is handed at DRIVER_OK, its call eventfd raising the guest's interrupt, and a back-end
 * that fails leaving the device in DEVICE_NEEDS_RESET rather than the VMM in trouble.
 */
@Timeout(60)
class VhostUserFsTest {
    private static final long FEATURES = (1L << VirtioIds.F_VERSION_1) | (1L << VirtioIds.F_EVENT_IDX)
            | (1L << VirtioIds.F_INDIRECT_DESC) | (1L << VhostUserCodec.F_PROTOCOL_FEATURES);
    private static final long RAM = 0;
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    @Test
    void configurationSpaceIsTagThenRequestQueueCount() {
        VhostUserFs fs = new VhostUserFs("myfs", 256, 3);
        byte[] config = new byte[40];
        fs.readConfig(0, config);
        byte[] expected = new byte[40];
        System.arraycopy("myfs".getBytes(StandardCharsets.UTF_8), 0, expected, 0, 4);
        expected[36] = 3; // le32 num_request_queues
        assertArrayEquals(expected, config);
        assertEquals(VirtioIds.TYPE_FS, fs.deviceType());
        assertEquals(26, fs.deviceType());
        assertEquals(List.of(256, 256, 256, 256), fs.queueSizes(), "hiprio + 3 request queues");
        assertEquals(0, fs.features(-1L), "no device feature: no notification queue, no DAX");
        byte[] tail = new byte[8];
        fs.readConfig(36, tail);
        assertArrayEquals(new byte[] {3, 0, 0, 0, 0, 0, 0, 0}, tail, "past the end reads as zeros");
        // a 36-byte tag fills the field: no terminating NUL
        String full = "t".repeat(35) + "é".substring(0, 1);
        byte[] bytes = full.getBytes(StandardCharsets.UTF_8);
        assertEquals(37, bytes.length);
        assertThrows(IllegalArgumentException.class, () -> new VhostUserFs(full, 128, 1));
        VhostUserFs wide = new VhostUserFs("u".repeat(36), 128, 1);
        byte[] tag = new byte[36];
        wide.readConfig(0, tag);
        assertArrayEquals("u".repeat(36).getBytes(StandardCharsets.UTF_8), tag);
        assertThrows(IllegalArgumentException.class, () -> new VhostUserFs("", 128, 1));
        assertThrows(IllegalArgumentException.class, () -> new VhostUserFs("a", 100, 1));
        assertThrows(IllegalArgumentException.class, () -> new VhostUserFs("a", 128, 0));
    }

    /** A back-end at {@code path} that accepts one connection and behaves as {@code behaviour} says. */
    private static CompletableFuture<FakeBackend> backendAt(Path path, FakeBackend.Behaviour behaviour) {
        UnixSocket listener = UnixSocket.listen(path, 1);
        return CompletableFuture.supplyAsync(() -> {
            try (listener) {
                return new FakeBackend(listener.accept(), behaviour);
            }
        });
    }

    private static void virtiofsd(FakeBackend.Message m, FakeBackend b) {
        switch (m.kind()) {
            case GET_FEATURES -> b.replyU64(m, FEATURES);
            case GET_PROTOCOL_FEATURES -> b.replyU64(m, (1L << VhostUserCodec.PROTOCOL_F_MQ)
                    | (1L << VhostUserCodec.PROTOCOL_F_REPLY_ACK));
            case GET_QUEUE_NUM -> b.replyU64(m, 8);
            case GET_VRING_BASE -> b.reply(m, VhostUserCodec.vringState(m.data().getInt(0), 0));
            default -> b.ack(m);
        }
    }

    /** Linux's virtio_mmio probe and virtio_fs probe: features, every queue of {@code size}, DRIVER_OK. */
    private static void driverInit(MmioTransport t, int queues, int size) {
        wr(t, 0x70, 0);
        wr(t, 0x70, 1);
        wr(t, 0x70, 3);
        wr(t, 0x24, 0);
        wr(t, 0x20, 1 << VirtioIds.F_EVENT_IDX);
        wr(t, 0x24, 1);
        wr(t, 0x20, 1); // VERSION_1
        wr(t, 0x70, 11);
        for (int q = 0; q < queues; q++) {
            long desc = RAM + 0x10000 + q * 0x4000L;
            wr(t, 0x30, q);
            wr(t, 0x38, size);
            wr(t, 0x80, (int) desc);
            wr(t, 0x90, (int) (desc + 0x1000));
            wr(t, 0xa0, (int) (desc + 0x2000));
            wr(t, 0x44, 1);
        }
        wr(t, 0x70, 15);
    }

    private static int rd(MmioTransport t, long off) {
        byte[] b = new byte[4];
        t.read(off, b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private static void wr(MmioTransport t, long off, int v) {
        t.write(off, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    @Test
    void aDriverStartingTheDeviceHandsTheBackendSharedRamAndTheRings() throws Exception {
        Path socket = dir.resolve("vfs.sock");
        CompletableFuture<FakeBackend> backend = backendAt(socket, VhostUserFsTest::virtiofsd);
        AtomicInteger interrupts = new AtomicInteger();
        try (GuestMemory ram = GuestMemory.allocateShared(List.of(new GuestMemory.Region(RAM, 4 * MIB)), true);
                VhostDevice device = VhostUserFs.open("fs0", socket, false, "share", 128, 1, Duration.ofSeconds(5));
                FakeBackend b = backend.get(10, TimeUnit.SECONDS);
                EventLoop loop = new EventLoop()) {
            EventFd[] notify = {new EventFd(true), new EventFd(true)};
            MmioTransport t = new MmioTransport("fs0", device, ram, interrupts::incrementAndGet,
                    q -> notify[q].signal());
            t.connect(loop, notify);
            loop.start("virtio-fs0");
            assertEquals(List.of(GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_OWNER,
                    GET_FEATURES), b.requests());
            assertEquals(26, rd(t, 0x08));
            assertEquals(0x72616873, rd(t, 0x100), "'shar' of the tag");
            assertEquals(1, rd(t, 0x100 + 36), "one request queue");
            wr(t, 0x14, 0);
            assertEquals((1 << VirtioIds.F_EVENT_IDX) | (1 << VirtioIds.F_INDIRECT_DESC), rd(t, 0x10),
                    "what the back-end supports, not its protocol bit");

            driverInit(t, 2, 128);
            assertEquals(15, rd(t, 0x70), "DRIVER_OK, not NEEDS_RESET");
            List<FakeBackend.Message> m = b.received();
            assertEquals(List.of(SET_FEATURES, SET_MEM_TABLE,
                    SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ENABLE,
                    SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ENABLE),
                    b.requests().subList(6, 20));
            assertEquals((1L << VirtioIds.F_VERSION_1) | (1L << VirtioIds.F_EVENT_IDX)
                    | (1L << VhostUserCodec.F_PROTOCOL_FEATURES), m.get(6).data().getLong(0));
            assertEquals(1, m.get(7).fds().length, "the memfd travels with the memory table");
            assertEquals(ram.hostAddress(RAM), m.get(7).data().getLong(8 + 16), "user address of the region");
            assertEquals(ram.hostAddress(RAM + 0x14000), m.get(16).data().getLong(8), "queue 1's descriptors, as a user address");
            for (FakeBackend.Message x : m) {
                assertTrue(x.needsReply() || x.kind().hasReply() || x.kind() == SET_PROTOCOL_FEATURES, x.kind() + " acked");
            }
            // The back-end signals queue 1's call eventfd: the guest gets the used-ring interrupt.
            int callFd = m.get(18).fds()[0];
            int before = interrupts.get();
            try (Memory one = new Memory(8)) {
                one.setLong(0, 1);
                Sys.write(callFd, one, 8, "call");
            }
            for (int i = 0; i < 500 && interrupts.get() == before; i++) {
                Thread.sleep(10);
            }
            assertTrue(interrupts.get() > before, "call eventfd -> interrupt");
            assertEquals(VirtioIds.INT_USED_RING, rd(t, 0x60) & VirtioIds.INT_USED_RING);

            // The driver resets the device: the back-end gives the rings back (GET_VRING_BASE stops them).
            wr(t, 0x70, 0);
            List<VhostUserCodec.Request> after = b.requests();
            assertEquals(List.of(GET_VRING_BASE, GET_VRING_BASE), after.subList(after.size() - 2, after.size()));
        }
    }

    @Test
    void aBackendThatBreaksLeavesTheDeviceNeedingResetNotTheVmmBroken() throws Exception {
        Path socket = dir.resolve("bad.sock");
        CompletableFuture<FakeBackend> backend = backendAt(socket, (m, b) -> {
            if (m.kind() == SET_MEM_TABLE) {
                b.hangUp(); // virtiofsd dies when it is handed memory
            } else {
                virtiofsd(m, b);
            }
        });
        try (GuestMemory ram = GuestMemory.allocateShared(List.of(new GuestMemory.Region(RAM, 4 * MIB)), true);
                VhostDevice device = VhostUserFs.open("fs0", socket, false, "share", 128, 1, Duration.ofSeconds(5));
                FakeBackend b = backend.get(10, TimeUnit.SECONDS);
                EventLoop loop = new EventLoop()) {
            EventFd[] notify = {new EventFd(true), new EventFd(true)};
            MmioTransport t = new MmioTransport("fs0", device, ram, () -> { }, q -> notify[q].signal());
            t.connect(loop, notify);
            driverInit(t, 2, 128);
            assertEquals(VirtioIds.STATUS_DEVICE_NEEDS_RESET, rd(t, 0x70) & VirtioIds.STATUS_DEVICE_NEEDS_RESET);
            // the driver resets it and tries again: refused at once (the connection is gone), same outcome
            driverInit(t, 2, 128);
            assertEquals(VirtioIds.STATUS_DEVICE_NEEDS_RESET, rd(t, 0x70) & VirtioIds.STATUS_DEVICE_NEEDS_RESET);
        }
    }

    @Test
    void aServerChardevConnectsToABackendAlreadyListeningAsStratovirtDoes() throws Exception {
        // Kata's StratoVirt driver starts virtiofsd (listening) first, then gives the VMM "server,nowait".
        Path socket = dir.resolve("kata.sock");
        CompletableFuture<FakeBackend> backend = backendAt(socket, VhostUserFsTest::virtiofsd);
        try (VhostDevice device = VhostUserFs.open("fs0", socket, true, "kataShared", 1024, 1, Duration.ofSeconds(30));
                FakeBackend b = backend.get(10, TimeUnit.SECONDS)) {
            assertEquals(List.of(1024, 1024), device.queueSizes());
            assertEquals(SET_OWNER, b.requests().get(4));
        }
        // Nobody there: QEMU's meaning, listen and wait for the back-end.
        Path listen = dir.resolve("qemu.sock");
        CompletableFuture<VhostDevice> opening = CompletableFuture.supplyAsync(
                () -> VhostUserFs.open("fs0", listen, true, "share", 128, 1, Duration.ofSeconds(10)));
        try (UnixSocket backendSide = FakeBackend.connectOnceListening(listen);
                FakeBackend b = new FakeBackend(backendSide, VhostUserFsTest::virtiofsd);
                VhostDevice device = opening.get(10, TimeUnit.SECONDS)) {
            assertEquals(26, device.deviceType());
        }
    }

    @Test
    void openingWithoutABackendIsOneClearError() throws Exception {
        Path none = dir.resolve("none.sock");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VhostUserFs.open("fs0", none, false, "share", 128, 1, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().startsWith("device fs0: cannot connect to the vhost-user back-end at " + none
                + ": connect(" + none + ") failed: "), e.getMessage());
        Path listen = dir.resolve("server.sock");
        e = assertThrows(IllegalArgumentException.class,
                () -> VhostUserFs.open("fs0", listen, true, "share", 128, 1, Duration.ofMillis(100)));
        assertEquals("device fs0: no vhost-user back-end connected to " + listen + " within 0 s", e.getMessage());
        // a back-end that serves too few queues for num-request-queues
        Path few = dir.resolve("few.sock");
        CompletableFuture<FakeBackend> backend = backendAt(few, (m, b) -> {
            if (m.kind() == GET_QUEUE_NUM) {
                b.replyU64(m, 2);
            } else {
                virtiofsd(m, b);
            }
        });
        e = assertThrows(IllegalArgumentException.class,
                () -> VhostUserFs.open("fs0", few, false, "share", 128, 4, Duration.ofSeconds(5)));
        assertEquals("device fs0: vhost-user back-end " + few + ": the back-end serves 2 queues, the device has 5",
                e.getMessage());
        backend.get(10, TimeUnit.SECONDS).close();
    }
}
