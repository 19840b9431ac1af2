package dev.mesovirt.vmm.vhost.user;

import static dev.mesovirt.vmm.vhost.user.VhostUserCodec.Request.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import dev.mesovirt.vmm.sys.UnixSocket;
import dev.mesovirt.vmm.vhost.VhostException;
import dev.mesovirt.vmm.vhost.VhostMemoryRegion;
import dev.mesovirt.vmm.vhost.VringAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The front-end against back-ends played over a socket pair: one that follows the protocol (what goes over the wire,
 * descriptors included), and hostile ones (garbage, wrong replies, short replies, refusals, silence), which must each
 * give a VhostException naming what happened, within the time limit, and leave the connection closed.
 */
@Timeout(60)
class VhostUserFrontendTest {
    // Long enough that a loaded machine's scheduling never makes a well-behaved fake back-end late (300 ms was not, at
    // a load of 10 on 2 cores); the silent cases each wait this long.
    /** Each task on a thread of its own: the common pool has one thread on 2 cores, and a blocked task starves it. */
    private static final java.util.concurrent.Executor OWN_THREAD = r -> Thread.ofPlatform().daemon(true).start(r);
    private static final Duration LIMIT = Duration.ofMillis(1500);
    /** VERSION_1, the protocol bit, INDIRECT_DESC, EVENT_IDX. */
    private static final long FEATURES = (1L << 32) | (1L << 30) | (1L << 28) | (1L << 29);

    @TempDir
    Path dir;

    /** A back-end that does everything right: two queues, every protocol feature, acknowledgements when asked. */
    private static void wellBehaved(FakeBackend.Message m, FakeBackend b) {
        switch (m.kind()) {
            case GET_FEATURES -> b.replyU64(m, FEATURES);
            case GET_PROTOCOL_FEATURES -> b.replyU64(m, 0x1ffff);
            case GET_QUEUE_NUM -> b.replyU64(m, 2);
            case GET_VRING_BASE -> b.reply(m, VhostUserCodec.vringState(m.data().getInt(0), 17));
            case GET_CONFIG -> {
                int offset = m.data().getInt(0);
                int size = m.data().getInt(4);
                byte[] data = new byte[size];
                for (int i = 0; i < size; i++) {
                    data[i] = (byte) (offset + i);
                }
                b.reply(m, VhostUserCodec.config(offset, 0, data));
            }
            default -> b.ack(m);
        }
    }

    private record Pair(VhostUserFrontend frontend, FakeBackend backend) implements AutoCloseable {
        @Override
        public void close() throws InterruptedException {
            frontend.close();
            backend.close();
        }
    }

    private static Pair pair(FakeBackend.Behaviour behaviour) {
        return pair(behaviour, LIMIT);
    }

    private static Pair pair(FakeBackend.Behaviour behaviour, Duration limit) {
        UnixSocket[] s = UnixSocket.pair();
        return new Pair(new VhostUserFrontend("test", s[0], limit), new FakeBackend(s[1], behaviour));
    }

    @Test
    void negotiationFollowsQemusOrderAndAcknowledgesOnceReplyAckIsAgreed() throws Exception {
        try (Pair p = pair(VhostUserFrontendTest::wellBehaved)) {
            assertEquals(FEATURES, p.frontend().negotiate(2));
            p.frontend().setOwner();
            assertEquals(List.of(GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_OWNER),
                    p.backend().requests());
            List<FakeBackend.Message> m = p.backend().received();
            assertEquals((1L << 0) | (1L << 3) | (1L << 9), m.get(2).data().getLong(0),
                    "of everything offered, only MQ, REPLY_ACK and CONFIG are taken");
            assertFalse(m.get(2).needsReply(), "REPLY_ACK applies once agreed, not to its own agreement");
            assertTrue(m.get(4).needsReply(), "SET_OWNER is acknowledged");
            assertEquals(1, m.get(0).flags(), "version 1, no other flag");
            assertTrue(p.frontend().hasProtocolFeature(VhostUserCodec.PROTOCOL_F_REPLY_ACK));
        }
    }

    @Test
    void aBackendWithoutProtocolFeaturesIsOnlyAskedForItsFeatures() throws Exception {
        try (Pair p = pair((m, b) -> {
            if (m.kind() == GET_FEATURES) {
                b.replyU64(m, 1L << 32);
            }
        })) {
            assertEquals(1L << 32, p.frontend().negotiate(2));
            p.frontend().setOwner();
            p.frontend().setFeatures(1L << 32);
            p.frontend().setVringEnable(0, true);
            assertEquals(List.of(GET_FEATURES, SET_OWNER, SET_FEATURES, SET_VRING_ENABLE), awaitRequests(p.backend(), 4));
            assertEquals(1L << 32, p.backend().received().get(2).data().getLong(0), "no protocol bit it lacks");
            assertFalse(p.backend().received().get(3).needsReply());
        }
    }

    @Test
    void memoryTableAndRingsGoOverTheWireWithTheirDescriptors() throws Exception {
        try (Pair p = pair(VhostUserFrontendTest::wellBehaved);
                GuestMemory ram = GuestMemory.allocateShared(List.of(new GuestMemory.Region(0, 0x10000),
                        new GuestMemory.Region(0x100000, 0x4000)), true);
                EventFd kick = new EventFd(true)) {
            VhostUserFrontend f = p.frontend();
            f.negotiate(2);
            f.setOwner();
            f.setFeatures(1L << 32);
            ram.writeLong(0x100008, 0x5A5A_0102_0304_A5A5L);
            List<VhostMemoryRegion> regions = new ArrayList<>();
            for (GuestMemory.Mapping m : ram.mappings()) {
                regions.add(new VhostMemoryRegion(m.guestAddress(), m.size(), m.hostAddress(), m.fdOffset(),
                        OptionalInt.of(m.fd())));
            }
            f.setMemTable(regions);
            f.setVringNum(1, 256);
            f.setVringBase(1, 0);
            f.setVringAddr(new VringAddress(1, 0, 0x1000, 0x2000, 0x3000, ram.hostAddress(0x1000),
                    ram.hostAddress(0x2000), ram.hostAddress(0x3000), 0));
            f.setVringKick(1, kick);
            f.setVringCall(1, null);
            f.setVringEnable(1, true);
            assertEquals(17, f.getVringBase(1));
            assertArrayEquals(new byte[] {4, 5, 6}, f.getConfig(4, 3));

            List<FakeBackend.Message> got = p.backend().received();
            assertEquals(List.of(SET_FEATURES, SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK,
                    SET_VRING_CALL, SET_VRING_ENABLE, GET_VRING_BASE, GET_CONFIG), p.backend().requests().subList(5, 15));
            assertEquals((1L << 32) | (1L << 30), got.get(5).data().getLong(0), "SET_FEATURES carries the protocol bit");
            FakeBackend.Message table = got.get(6);
            assertEquals(2, table.fds().length, "one descriptor per region");
            assertEquals(2, table.data().getInt(0));
            assertEquals(0x100000, table.data().getLong(8 + 32));
            assertEquals(0x10000, table.data().getLong(8 + 32 + 24), "the second region's offset in the memfd");
            // The back-end maps what it was given and sees the guest's RAM.
            Pointer mapped = Sys.mmap(0x14000, LibC.PROT_READ, LibC.MAP_SHARED, table.fds()[1], 0, "test");
            try {
                assertEquals(0x5A5A_0102_0304_A5A5L, mapped.getLong(0x10000 + 8));
            } finally {
                Sys.munmap(mapped, 0x14000);
            }
            FakeBackend.Message kickMessage = got.get(10);
            assertEquals(1, kickMessage.data().getLong(0), "queue 1, with a descriptor");
            assertEquals(1, kickMessage.fds().length);
            try (Memory one = new Memory(8)) {
                one.setLong(0, 1);
                Sys.write(kickMessage.fds()[0], one, 8, "kick");
            }
            assertEquals(1, kick.consume(), "the descriptor sent is the kick eventfd itself");
            assertEquals(0x101, got.get(11).data().getLong(0), "no call descriptor: the NOFD bit");
            assertEquals(0, got.get(11).fds().length);
            assertEquals(0x1_0000_0001L, got.get(12).data().getLong(0), "SET_VRING_ENABLE: queue 1, num 1");
            VhostException e = assertThrows(VhostException.class, () -> f.setMemTable(List.of(
                    VhostMemoryRegion.anonymous(0, 0x10000, ram.hostAddress(0)))));
            assertEquals("vhost-user back-end test: guest RAM at 0x0 is not shared (a vhost-user device needs shared"
                    + " guest memory)", e.getMessage());
            f.setOwner(); // a refusal of ours, not the back-end's: the connection is still good
        }
    }

    /** A back-end that answers {@code request} as {@code bad} does, and everything else well. */
    private static FakeBackend.Behaviour badAt(VhostUserCodec.Request request, FakeBackend.Behaviour bad) {
        return (m, b) -> {
            if (m.kind() == request) {
                bad.handle(m, b);
            } else {
                wellBehaved(m, b);
            }
        };
    }

    @FunctionalInterface
    private interface Call {
        void on(VhostUserFrontend frontend) throws VhostException;
    }

    private void expectFailure(FakeBackend.Behaviour behaviour, Call call, String message)
            throws Exception {
        try (Pair p = pair(behaviour)) {
            long start = System.nanoTime();
            VhostException e = assertThrows(VhostException.class, () -> call.on(p.frontend()));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(e.getMessage().startsWith("vhost-user back-end test: "), e.getMessage());
            assertTrue(e.getMessage().contains(message), "'" + e.getMessage() + "' should say '" + message + "'");
            assertTrue(ms < 5000, "took " + ms + " ms");
            // The connection is closed: the next call fails at once with the first reason.
            VhostException again = assertThrows(VhostException.class, () -> p.frontend().setOwner());
            assertEquals(e.getMessage(), again.getMessage());
        }
    }

    @Test
    void hostileBackendsGiveClearErrorsNeverHangs() throws Exception {
        Call negotiate = f -> f.negotiate(2);
        expectFailure((m, b) -> { }, negotiate, "no reply to GET_FEATURES within 1500 ms");
        expectFailure((m, b) -> b.hangUp(), negotiate, "the back-end closed the connection instead of answering GET_FEATURES");
        byte[] shortReply = {1, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 1, 2, 3, 4};
        expectFailure((m, b) -> {
            b.raw(shortReply);
            b.hangUp();
        }, negotiate, "the back-end closed the connection in the middle of the reply to GET_FEATURES");
        expectFailure((m, b) -> b.raw(shortReply), negotiate, "no reply to GET_FEATURES within 1500 ms");
        expectFailure((m, b) -> b.raw("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes()), negotiate,
                "the back-end answered GET_FEATURES with request 1347703880");
        expectFailure((m, b) -> b.raw(VhostUserCodec.message(GET_VRING_BASE, VhostUserCodec.FLAG_REPLY, new byte[8])),
                negotiate, "the back-end answered GET_FEATURES with GET_VRING_BASE");
        expectFailure((m, b) -> b.raw(VhostUserCodec.message(GET_FEATURES, 0, new byte[8])), negotiate,
                "the reply to GET_FEATURES has flags 0x1 (want version 1 and the reply bit)");
        expectFailure((m, b) -> b.raw(new byte[] {1, 0, 0, 0, 6, 0, 0, 0, 8, 0, 0, 0}), negotiate,
                "the reply to GET_FEATURES has flags 0x6");
        expectFailure((m, b) -> b.raw(new byte[] {1, 0, 0, 0, 5, 0, 0, 0, (byte) 0xf0, (byte) 0xff, (byte) 0xff,
            (byte) 0xff}), negotiate, "announces a 4294967280-byte payload (at most 4096)");
        expectFailure((m, b) -> b.raw(new byte[] {1, 0, 0, 0, 5, 0, 0, 0, 0, 0x10, 1, 0}), negotiate,
                "announces a 69632-byte payload");
        expectFailure((m, b) -> b.reply(m, new byte[4]), negotiate, "reply to GET_FEATURES has a 4-byte payload, not 8");
        expectFailure(badAt(GET_QUEUE_NUM, (m, b) -> b.replyU64(m, 1)), negotiate,
                "the back-end serves 1 queues, the device has 2");
        Call own = f -> {
            f.negotiate(2);
            f.setOwner();
        };
        expectFailure(badAt(SET_OWNER, (m, b) -> b.replyU64(m, 1)), own, "the back-end refused SET_OWNER (status 1)");
        expectFailure(badAt(SET_OWNER, (m, b) -> { }), own, "no reply to SET_OWNER within 1500 ms");
        Call base = f -> {
            f.negotiate(2);
            f.getVringBase(1);
        };
        expectFailure(badAt(GET_VRING_BASE, (m, b) -> b.reply(m, VhostUserCodec.vringState(0, 5))), base,
                "reply to GET_VRING_BASE is for queue 0, not 1");
        // A reply that smuggles descriptors still fails cleanly (and they are closed, not leaked).
        expectFailure(badAt(GET_VRING_BASE, (m, b) -> {
            try (EventFd e = new EventFd(true)) {
                b.raw(VhostUserCodec.message(GET_VRING_BASE, VhostUserCodec.FLAG_REPLY, new byte[4]), new int[] {e.fd()});
            }
        }), base, "has a 4-byte payload, not 8");
    }

    @Test
    void randomRepliesOnlyEverGiveVhostExceptions() throws Exception {
        Random random = new Random(14);
        for (int round = 0; round < 200; round++) {
            long seed = random.nextLong();
            FakeBackend.Behaviour noise = (m, b) -> {
                Random r = new Random(seed ^ m.request());
                if (r.nextInt(3) == 0) {
                    wellBehaved(m, b);
                    return;
                }
                byte[] junk = new byte[r.nextInt(40)];
                r.nextBytes(junk);
                if (junk.length >= 12 && r.nextBoolean()) {
                    // a plausible header: the right request and flags, and some size
                    junk[0] = (byte) m.request();
                    junk[1] = junk[2] = junk[3] = 0;
                    junk[4] = 5;
                    junk[5] = junk[6] = junk[7] = 0;
                }
                if (junk.length > 0) {
                    b.raw(junk);
                }
                if (r.nextBoolean()) {
                    b.hangUp();
                }
            };
            try (Pair p = pair(noise, Duration.ofMillis(40))) { // silence is one of the answers: keep it short
                try {
                    VhostUserFrontend f = p.frontend();
                    f.negotiate(2);
                    f.setFeatures(1L << 32);
                    f.setVringNum(0, 128);
                    f.getVringBase(0);
                } catch (VhostException expected) {
                    // the only way it may fail
                }
            }
        }
    }

    @Test
    void closeEndsACallInProgress() throws Exception {
        UnixSocket[] s = UnixSocket.pair();
        VhostUserFrontend f = new VhostUserFrontend("test", s[0], Duration.ofSeconds(30));
        try (FakeBackend silent = new FakeBackend(s[1], (m, b) -> { })) {
            CompletableFuture<Long> call = CompletableFuture.supplyAsync(() -> {
                try {
                    return f.getFeatures();
                } catch (VhostException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, OWN_THREAD);
            Thread.sleep(200);
            f.close();
            Exception e = assertThrows(Exception.class, () -> call.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof VhostException, e.toString());
            assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        }
    }

    @Test
    void connectAndListenErrorsNameTheSocket() throws Exception {
        Path missing = dir.resolve("none.sock");
        VhostException e = assertThrows(VhostException.class,
                () -> VhostUserFrontend.connect(missing, LIMIT));
        assertTrue(e.getMessage().startsWith("cannot connect to the vhost-user back-end at " + missing + ": "),
                e.getMessage());
        Path listen = dir.resolve("server.sock");
        e = assertThrows(VhostException.class, () -> VhostUserFrontend.accept(listen, Duration.ofMillis(100)));
        assertEquals("no vhost-user back-end connected to " + listen + " within 0 s", e.getMessage());
        assertFalse(Files.exists(listen), "the listening socket's file is removed");
        // server=on: the back-end connects to us
        CompletableFuture<VhostUserFrontend> accepting = CompletableFuture.supplyAsync(() -> {
            try {
                return VhostUserFrontend.accept(listen, Duration.ofSeconds(10));
            } catch (VhostException failure) {
                throw new java.util.concurrent.CompletionException(failure);
            }
        }, OWN_THREAD);
        try (UnixSocket backendSide = FakeBackend.connectOnceListening(listen);
                FakeBackend b = new FakeBackend(backendSide, VhostUserFrontendTest::wellBehaved);
                VhostUserFrontend f = accepting.get(10, TimeUnit.SECONDS)) {
            assertEquals(FEATURES, f.negotiate(1));
        }
    }

    private static List<VhostUserCodec.Request> awaitRequests(FakeBackend b, int count) throws InterruptedException {
        for (int i = 0; i < 500 && b.received().size() < count; i++) {
            Thread.sleep(10);
        }
        return b.requests();
    }
}
