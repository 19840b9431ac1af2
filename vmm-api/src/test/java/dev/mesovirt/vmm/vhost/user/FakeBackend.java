package dev.mesovirt.vmm.vhost.user;

import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.UnixSocket;
import dev.mesovirt.vmm.vhost.user.VhostUserCodec.Header;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A vhost-user back-end played by a test over one end of a socket pair: a thread reads each message the front-end
 * sends (header, payload, descriptors) and lets {@link Behaviour} answer it, well or badly.
 */
final class FakeBackend implements AutoCloseable {
    /** One message from the front-end; {@code fds} are the test's to close (close() closes any left). */
    record Message(int request, int flags, byte[] payload, int[] fds) {
        VhostUserCodec.Request kind() {
            return VhostUserCodec.Request.of(request);
        }

        boolean needsReply() {
            return (flags & VhostUserCodec.FLAG_NEED_REPLY) != 0;
        }

        ByteBuffer data() {
            return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    @FunctionalInterface
    interface Behaviour {
        void handle(Message message, FakeBackend backend) throws Exception;
    }

    private final UnixSocket socket;
    private final Thread thread;
    private final List<Message> received = new ArrayList<>();

    FakeBackend(UnixSocket socket, Behaviour behaviour) {
        this.socket = socket;
        this.thread = new Thread(() -> serve(behaviour), "fake-vhost-user-backend");
        thread.setDaemon(true);
        thread.start();
    }

    private void serve(Behaviour behaviour) {
        try {
            while (true) {
                byte[] header = read(VhostUserCodec.HEADER_SIZE);
                if (header == null) {
                    return;
                }
                Header h = Header.decode(header);
                List<Integer> fds = new ArrayList<>();
                pendingFds.forEach(fds::add);
                pendingFds.clear();
                byte[] payload = h.size() == 0 ? new byte[0] : read(h.size());
                if (payload == null) {
                    return;
                }
                pendingFds.forEach(fds::add);
                pendingFds.clear();
                Message m = new Message(h.request(), h.flags(), payload, fds.stream().mapToInt(Integer::intValue).toArray());
                synchronized (received) {
                    received.add(m);
                }
                behaviour.handle(m, this);
            }
        } catch (Exception e) {
            // the test's behaviour ended the conversation (or the front-end closed): nothing more to serve
        }
    }

    private final List<Integer> pendingFds = new ArrayList<>();

    private byte[] read(int length) throws TimeoutException {
        byte[] out = new byte[length];
        int got = 0;
        while (got < length) {
            byte[] part = new byte[length - got];
            UnixSocket.Received r = socket.receive(part, Duration.ofSeconds(30));
            for (int fd : r.fds()) {
                pendingFds.add(fd);
            }
            if (r.length() <= 0) {
                return null;
            }
            System.arraycopy(part, 0, out, got, r.length());
            got += r.length();
        }
        return out;
    }

    /** A well-formed reply to {@code m} with {@code payload}. */
    void reply(Message m, byte[] payload) {
        raw(VhostUserCodec.message(VhostUserCodec.Request.of(m.request()), VhostUserCodec.FLAG_REPLY, payload));
    }

    void replyU64(Message m, long value) {
        reply(m, VhostUserCodec.u64(value));
    }

    /** The acknowledgement REPLY_ACK asks for, when the message asks for one. */
    void ack(Message m) {
        if (m.needsReply()) {
            replyU64(m, 0);
        }
    }

    void raw(byte[] bytes) {
        socket.send(bytes);
    }

    void raw(byte[] bytes, int[] fds) {
        socket.send(bytes, fds);
    }

    /** Ends the connection from the back-end's side. */
    void hangUp() {
        socket.close();
    }

    List<Message> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    List<VhostUserCodec.Request> requests() {
        return received().stream().map(Message::kind).toList();
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(5000);
        for (Message m : received()) {
            Arrays.stream(m.fds()).forEach(Fds::closeQuietly);
        }
        pendingFds.forEach(Fds::closeQuietly);
    }

    /**
     * Connects to the socket a server is about to listen on (the VMM, virtiofsd): its file appears at bind, a moment before listen, and a
     * connect in between is refused, so this tries again for up to 10 s.
     */
    static UnixSocket connectOnceListening(Path path) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return UnixSocket.connect(path);
            } catch (RuntimeException e) {
                if (System.nanoTime() > end) {
                    throw e;
                }
                Thread.sleep(10);
            }
        }
    }
}
