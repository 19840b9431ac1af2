package dev.mesovirt.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The native UNIX socket: the LP64 Linux layouts, descriptor passing through a real socket, and close(). */
@Timeout(20)
class UnixSocketTest {
    @TempDir
    Path dir;

    @Test
    void layoutsAreThoseOfLp64Linux() {
        // <sys/socket.h>, <bits/socket.h>, <sys/un.h>, <poll.h> on x86_64, aarch64 and riscv64 alike
        assertEquals(56, UnixSocket.MSGHDR_SIZE);
        assertEquals(8, UnixSocket.MSG_NAMELEN);
        assertEquals(16, UnixSocket.MSG_IOV);
        assertEquals(24, UnixSocket.MSG_IOVLEN);
        assertEquals(32, UnixSocket.MSG_CONTROL);
        assertEquals(40, UnixSocket.MSG_CONTROLLEN);
        assertEquals(48, UnixSocket.MSG_FLAGS);
        assertEquals(16, UnixSocket.IOVEC_SIZE);
        assertEquals(16, UnixSocket.CMSGHDR_SIZE);
        assertEquals(110, UnixSocket.SOCKADDR_UN_SIZE);
        assertEquals(8, UnixSocket.POLLFD_SIZE);
        assertEquals(1, UnixSocket.SOL_SOCKET);
        assertEquals(1, UnixSocket.SCM_RIGHTS);
        assertEquals(1, UnixSocket.AF_UNIX);
        assertEquals(1, UnixSocket.SOCK_STREAM);
        assertEquals(0x80000, UnixSocket.SOCK_CLOEXEC);
        assertEquals(0x40000000, UnixSocket.MSG_CMSG_CLOEXEC);
        // CMSG_ALIGN to sizeof(long), CMSG_LEN and CMSG_SPACE as glibc computes them
        assertEquals(0, UnixSocket.cmsgAlign(0));
        assertEquals(8, UnixSocket.cmsgAlign(1));
        assertEquals(8, UnixSocket.cmsgAlign(8));
        assertEquals(16, UnixSocket.cmsgAlign(9));
        assertEquals(20, UnixSocket.cmsgLen(4));
        assertEquals(24, UnixSocket.cmsgSpace(4));
        assertEquals(32, UnixSocket.cmsgSpace(12));
        assertEquals(80, UnixSocket.cmsgSpace(UnixSocket.MAX_FDS * 4));
    }

    @Test
    void controlMessagesAreWrittenAndWalkedByteForByte() {
        try (Memory control = new Memory(64)) {
            assertEquals(24, UnixSocket.writeRights(control, new int[]{7}));
            assertEquals(20, control.getLong(0), "cmsg_len = CMSG_LEN(4)");
            assertEquals(1, control.getInt(8));
            assertEquals(1, control.getInt(12));
            assertEquals(7, control.getInt(16));
            assertEquals(0, control.getInt(20), "padding to CMSG_SPACE is zero");
            // two messages back to back: the second starts at CMSG_ALIGN(20) = 24
            UnixSocket.writeRights(control.share(24), new int[]{8, 9, 10});
            assertArrayEquals(new int[]{7, 8, 9, 10}, UnixSocket.readRights(control, 24 + 28));
            // a message of another type is skipped; a length past the end or below the header stops the walk
            control.setInt(12, 2); // SCM_CREDENTIALS
            assertArrayEquals(new int[]{8, 9, 10}, UnixSocket.readRights(control, 24 + 28));
            assertArrayEquals(new int[0], UnixSocket.readRights(control, 24 + 27));
            control.setLong(0, 3);
            assertArrayEquals(new int[0], UnixSocket.readRights(control, 64));
        }
    }

    @Test
    void descriptorsTravelWithTheirBytes() throws Exception {
        Path path = dir.resolve("s.sock");
        try (UnixSocket server = UnixSocket.listen(path, 4);
                UnixSocket client = UnixSocket.connect(path);
                UnixSocket accepted = server.accept();
                EventFd a = new EventFd(true);
                EventFd b = new EventFd(true)) {
            assertTrue(Files.exists(path));
            assertTrue(client.send("first".getBytes(StandardCharsets.US_ASCII)));
            assertTrue(client.send("second".getBytes(StandardCharsets.US_ASCII), new int[]{a.fd(), b.fd()}));
            assertTrue(client.send("third".getBytes(StandardCharsets.US_ASCII)));
            byte[] buffer = new byte[64];
            // the read ends with the send that carried descriptors: earlier bytes join it, later ones do not
            UnixSocket.Received second = accepted.receive(buffer);
            assertEquals("firstsecond", new String(buffer, 0, second.length(), StandardCharsets.US_ASCII));
            assertEquals(2, second.fds().length);
            UnixSocket.Received third = accepted.receive(buffer);
            assertEquals("third", new String(buffer, 0, third.length(), StandardCharsets.US_ASCII));
            assertEquals(0, third.fds().length);
            assertFalse(second.fdsTruncated());
            int[] got = second.fds();
            try {
                for (int fd : got) {
                    assertNotEquals(a.fd(), fd);
                    assertNotEquals(b.fd(), fd);
                    assertTrue(Fds.isCloseOnExec(fd), "MSG_CMSG_CLOEXEC");
                }
                // the same eventfds: what is written through a received descriptor is read from the original
                try (Memory eight = new Memory(8)) {
                    eight.setLong(0, 5);
                    Sys.write(got[1], eight, 8, "eventfd");
                }
                assertEquals(5, b.consume());
                assertEquals(0, a.consume());
            } finally {
                Arrays.stream(got).forEach(Fds::closeQuietly);
            }
            client.close();
            assertEquals(0, accepted.receive(buffer).length(), "end of stream once the peer closed");
        }
        assertTrue(Files.exists(path), "the socket file stays until its owner deletes it");
    }

    @Test
    void aShutDownOutputEndsThePeersStreamAfterWhatWasSentAndStillReceives() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            assertTrue(b.send(new byte[] {1, 2, 3}));
            b.shutdownOutput();
            byte[] buffer = new byte[8];
            UnixSocket.Received r = a.receive(buffer, Duration.ofSeconds(5));
            assertEquals(3, r.length());
            assertEquals(0, a.receive(buffer, Duration.ofSeconds(5)).length(), "the end of the stream");
            assertTrue(a.send(new byte[] {9}), "the shut-down side still receives");
            assertEquals(1, b.receive(buffer, Duration.ofSeconds(5)).length());
            assertEquals(9, buffer[0]);
        }
    }

    @Test
    void tooManyDescriptorsAreClosedByTheKernel() throws Exception {
        Path path = dir.resolve("t.sock");
        EventFd[] many = new EventFd[UnixSocket.MAX_FDS + 3];
        try (UnixSocket server = UnixSocket.listen(path, 4);
                UnixSocket client = UnixSocket.connect(path);
                UnixSocket accepted = server.accept()) {
            int[] fds = new int[many.length];
            for (int i = 0; i < many.length; i++) {
                many[i] = new EventFd(true);
                fds[i] = many[i].fd();
            }
            client.send(new byte[]{'x'}, fds);
            UnixSocket.Received in = accepted.receive(new byte[8]);
            assertEquals(1, in.length());
            assertEquals(UnixSocket.MAX_FDS, in.fds().length);
            assertTrue(in.fdsTruncated(), "MSG_CTRUNC");
            Arrays.stream(in.fds()).forEach(Fds::closeQuietly);
        } finally {
            for (EventFd e : many) {
                if (e != null) {
                    e.close();
                }
            }
        }
    }

    @Test
    void largeSendsArriveWholeAndInOrder() throws Exception {
        Path path = dir.resolve("l.sock");
        byte[] data = new byte[3 << 20]; // far beyond the socket buffer: partial sends while the peer reads
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + (i >>> 11));
        }
        try (UnixSocket server = UnixSocket.listen(path, 4);
                UnixSocket client = UnixSocket.connect(path);
                UnixSocket accepted = server.accept()) {
            CompletableFuture<Boolean> sent = CompletableFuture.supplyAsync(() -> client.send(data));
            byte[] got = new byte[data.length];
            byte[] buffer = new byte[50_000];
            int n = 0;
            while (n < data.length) {
                UnixSocket.Received in = accepted.receive(buffer);
                assertTrue(in.length() > 0);
                System.arraycopy(buffer, 0, got, n, in.length());
                n += in.length();
            }
            assertTrue(sent.get(10, TimeUnit.SECONDS));
            assertArrayEquals(data, got);
        }
    }

    @Test
    void closeEndsBlockedCallsFromAnotherThread() throws Exception {
        Path path = dir.resolve("c.sock");
        UnixSocket server = UnixSocket.listen(path, 4);
        CompletableFuture<UnixSocket> accepting = CompletableFuture.supplyAsync(server::accept);
        Thread.sleep(100);
        server.close();
        assertNull(accepting.get(5, TimeUnit.SECONDS), "accept() returns null once closed");
        assertNull(server.accept());

        server = UnixSocket.listen(dir.resolve("d.sock"), 4);
        try (UnixSocket client = UnixSocket.connect(dir.resolve("d.sock"));
                UnixSocket accepted = server.accept()) {
            CompletableFuture<UnixSocket.Received> reading = CompletableFuture.supplyAsync(
                    () -> accepted.receive(new byte[16]));
            // a peer that never reads: the sender fills the socket buffer and waits
            CompletableFuture<Boolean> writing = CompletableFuture.supplyAsync(() -> accepted.send(new byte[8 << 20]));
            Thread.sleep(200);
            assertFalse(reading.isDone());
            assertFalse(writing.isDone());
            accepted.close();
            assertTrue(reading.get(5, TimeUnit.SECONDS).closed());
            assertFalse(writing.get(5, TimeUnit.SECONDS), "send() reports the close");
            assertTrue(accepted.receive(new byte[1]).closed());
            // the descriptor is released once the calls have left: the peer sees the end of the stream
            assertEquals(0, drain(client));
        } finally {
            server.close();
        }
    }

    /** Reads until the end of the stream; returns what the last read returned (0). */
    private static int drain(UnixSocket socket) {
        byte[] buffer = new byte[1 << 16];
        int n;
        do {
            n = socket.receive(buffer).length();
        } while (n > 0);
        return n;
    }

    @Test
    void bindAndPathErrorsAreReported() throws Exception {
        Path path = dir.resolve("e.sock");
        try (UnixSocket first = UnixSocket.listen(path, 1);
                UnixSocket client = UnixSocket.connect(path)) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> UnixSocket.listen(path, 1));
            assertEquals(98, e.errno(), "EADDRINUSE: " + e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> client.send(new byte[0], new int[]{0}),
                    "descriptors need a byte to travel with");
        }
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.listen(dir.resolve("x".repeat(120)), 1));
        ErrnoException refused = assertThrows(ErrnoException.class, () -> UnixSocket.connect(dir.resolve("none")));
        assertEquals(2, refused.errno(), "ENOENT");
    }
    @Test
    void timedCallsGiveUpOnAPeerThatDoesNothing() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket us = pair[0]; UnixSocket peer = pair[1]) {
            long start = System.nanoTime();
            assertThrows(TimeoutException.class, () -> us.receive(new byte[8], Duration.ofMillis(150)));
            long waited = (System.nanoTime() - start) / 1_000_000;
            assertTrue(waited >= 140 && waited < 3000, "waited " + waited + " ms");
            // a peer that never reads: the send times out once the socket buffer is full
            assertThrows(TimeoutException.class, () -> us.send(new byte[8 << 20], new int[0], Duration.ofMillis(200)));
            // what does come within the time is received, with its descriptors
            try (EventFd e = new EventFd(true)) {
                assertTrue(peer.send(new byte[] {42}, new int[] {e.fd()}, Duration.ofSeconds(5)));
            }
            drain(peer, us);
            assertThrows(IllegalArgumentException.class, () -> us.receive(new byte[1], Duration.ofMillis(-1)));
        }
        // after close, a timed call returns at once as closed, not as timed out
        assertTrue(pair[0].receive(new byte[1], Duration.ofSeconds(10)).closed());
    }

    /** Reads what {@code us} sent to {@code peer} until a received descriptor shows the last message arrived. */
    private static void drain(UnixSocket peer, UnixSocket us) throws TimeoutException {
        byte[] buffer = new byte[1 << 16];
        while (true) {
            UnixSocket.Received r = us.receive(buffer, Duration.ofSeconds(5));
            if (r.fds().length > 0) {
                assertEquals(42, buffer[r.length() - 1]);
                for (int fd : r.fds()) {
                    Fds.closeQuietly(fd);
                }
                return;
            }
            assertTrue(r.length() > 0);
        }
    }

    @Test
    void aPairIsConnectedBothWaysAndAcceptCanTimeOut() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            assertTrue(a.send("ping".getBytes(StandardCharsets.UTF_8)));
            byte[] got = new byte[4];
            assertEquals(4, b.receive(got, Duration.ofSeconds(5)).length());
            assertArrayEquals("ping".getBytes(StandardCharsets.UTF_8), got);
            b.close();
            assertEquals(0, a.receive(new byte[4], Duration.ofSeconds(5)).length(), "end of stream once the peer closed");
        }
        try (UnixSocket server = UnixSocket.listen(dir.resolve("a.sock"), 1)) {
            assertThrows(TimeoutException.class, () -> server.accept(Duration.ofMillis(100)));
            try (UnixSocket client = UnixSocket.connect(dir.resolve("a.sock"));
                    UnixSocket accepted = server.accept(Duration.ofSeconds(5))) {
                assertNotNull(accepted);
            }
        }
    }

    /** The mode is the socket's before bind: the file never exists with wider permissions (QMP's socket). */
    @Test
    void listenCreatesTheFileWithTheModeGiven() throws Exception {
        Path path = dir.resolve("private.sock");
        try (UnixSocket s = UnixSocket.listen(path, 1, 0600)) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(path)));
        }
        Path open = dir.resolve("open.sock");
        try (UnixSocket s = UnixSocket.listen(open, 1, 0666)) {
            // the umask still narrows it (never widens): at least the owner's bits, never execute
            String mode = java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(open));
            assertTrue(mode.startsWith("rw-") && mode.charAt(5) == '-' && mode.charAt(8) == '-', mode);
        }
    }
}
