package dev.mesovirt.vmm.vhost.user;

import static dev.mesovirt.vmm.vhost.user.VhostUserCodec.*;

import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.UnixSocket;
import dev.mesovirt.vmm.vhost.VhostBackend;
import dev.mesovirt.vmm.vhost.VhostException;
import dev.mesovirt.vmm.vhost.VhostMemoryRegion;
import dev.mesovirt.vmm.vhost.VringAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The front-end side of the vhost-user protocol on one connection to a back-end process (virtiofsd, say): the
 * {@link VhostBackend} requests that hand it a device's virtqueues, as messages on a UNIX socket. Each call sends one message and, where the protocol has a reply (or
 * REPLY_ACK was negotiated, which this front-end asks for), waits for it, all within the connection's time limit.
 *
 * <p>A back-end is another program and is not trusted to behave: a reply of the wrong request, flags or size, a
 * payload larger than any vhost-user message, a refusal, the connection closing or no answer within the limit is a
 * {@link VhostException} naming the back-end and what it did, and the connection is closed (as the protocol says
 * a front-end does on a wrong reply: the stream may be out of step). Every later call fails the same way at once.
 * Calls are serialized; {@link #close()} from any thread ends one in progress.
 */
public final class VhostUserFrontend implements VhostBackend {
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserFrontend.class);
    /** How long a back-end may take to answer one request (or, with server=on, to connect). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** The protocol features this front-end can use: the queue count query, and acknowledgements of every request. */
    public static final long SUPPORTED_PROTOCOL_FEATURES = (1L << PROTOCOL_F_MQ) | (1L << PROTOCOL_F_REPLY_ACK)
            | (1L << PROTOCOL_F_CONFIG);
    private static final int ENOENT = 2;

    private final String name;
    private final UnixSocket socket;
    private final Duration timeout;
    private long backendFeatures;
    private long protocolFeatures;
    private boolean replyAck;
    private int queueLimit = -1;
    /** Why the connection is unusable, or null. */
    private volatile String broken;

    /**
     * A front-end on {@code socket}, connected to the back-end {@code name} (for messages, e.g. its socket path); it
     * owns the socket. {@link #negotiate} starts the conversation.
     */
    public VhostUserFrontend(String name, UnixSocket socket, Duration timeout) {
        this.name = name;
        this.socket = socket;
        this.timeout = timeout;
    }

    /** Connects to a back-end listening at {@code path} (the chardev's default, server=off). */
    public static VhostUserFrontend connect(Path path, Duration timeout) throws VhostException {
        try {
            return new VhostUserFrontend(path.toString(), UnixSocket.connect(path), timeout);
        } catch (ErrnoException e) {
            throw new VhostException("cannot connect to the vhost-user back-end at " + path + ": "
                    + e.getMessage(), e.errno(), e);
        } catch (IllegalArgumentException e) {
            throw new VhostException("vhost-user socket " + path + ": " + e.getMessage(), 0, e);
        }
    }

    /**
     * The front-end of a vhost-user chardev: without {@code server} (QEMU's default) it connects to the back-end
     * listening at {@code path}. With {@code server} it connects likewise when a back-end already listens there, as
     * StratoVirt does with the {@code server,nowait} chardev that Kata Containers gives it after starting virtiofsd;
     * otherwise it listens at {@code path} and waits for the back-end to connect, as QEMU does.
     */
    public static VhostUserFrontend open(Path path, boolean server, Duration timeout) throws VhostException {
        if (!server) {
            return connect(path, timeout);
        }
        try {
            return connect(path, timeout);
        } catch (VhostException e) {
            if (e.errno() != ENOENT) {
                throw e;
            }
        }
        return accept(path, timeout);
    }

    /**
     * Listens at {@code path} (which must not exist) and waits, up to {@code timeout}, for the back-end to connect
     * (the chardev's server=on; QEMU waits as well before it starts the guest). The listening socket is closed then.
     */
    public static VhostUserFrontend accept(Path path, Duration timeout) throws VhostException {
        UnixSocket listener;
        try {
            listener = UnixSocket.listen(path, 1);
        } catch (ErrnoException | IllegalArgumentException e) {
            throw new VhostException("cannot listen for the vhost-user back-end at " + path + ": "
                    + e.getMessage(), e instanceof ErrnoException errno ? errno.errno() : 0, e);
        }
        try (listener) {
            UnixSocket client = listener.accept(timeout);
            if (client == null) {
                throw new VhostException("listening for the vhost-user back-end at " + path + " was cancelled");
            }
            return new VhostUserFrontend(path.toString(), client, timeout);
        } catch (TimeoutException e) {
            throw new VhostException("no vhost-user back-end connected to " + path + " within "
                    + timeout.toSeconds() + " s");
        } finally {
            try {
                java.nio.file.Files.deleteIfExists(path);
            } catch (java.io.IOException ignored) {
                // a stale socket file harms nobody: the next listen reports it
            }
        }
    }

    /**
     * The opening of the conversation, as QEMU has it: GET_FEATURES; if the back-end has protocol features,
     * GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES with those of {@link #SUPPORTED_PROTOCOL_FEATURES} it has; with
     * MQ, GET_QUEUE_NUM, which must allow {@code queues}. SET_OWNER comes next, from the device
     * ({@link dev.mesovirt.vmm.vhost.VhostDevice}), as for every back-end. Returns the back-end's virtio features.
     */
    public synchronized long negotiate(int queues) throws VhostException {
        backendFeatures = call(Request.GET_FEATURES);
        if ((backendFeatures & (1L << F_PROTOCOL_FEATURES)) != 0) {
            long offered = call(Request.GET_PROTOCOL_FEATURES);
            protocolFeatures = offered & SUPPORTED_PROTOCOL_FEATURES;
            send(Request.SET_PROTOCOL_FEATURES, u64(protocolFeatures));
            replyAck = hasProtocolFeature(PROTOCOL_F_REPLY_ACK);
            if (hasProtocolFeature(PROTOCOL_F_MQ)) {
                long n = call(Request.GET_QUEUE_NUM);
                if (n < queues) {
                    throw fail("the back-end serves " + n + " queues, the device has " + queues);
                }
                queueLimit = (int) Math.min(n, Integer.MAX_VALUE);
            }
        }
        LOG.info("vhost-user back-end {}: features 0x{}, protocol features 0x{}{}", name,
                Long.toHexString(backendFeatures), Long.toHexString(protocolFeatures),
                queueLimit < 0 ? "" : ", up to " + queueLimit + " queues");
        return backendFeatures;
    }

    /** The back-end's virtio features, as GET_FEATURES answered (bit 30 is the protocol's, not the guest's). */
    @Override
    public synchronized long getFeatures() throws VhostException {
        backendFeatures = call(Request.GET_FEATURES);
        return backendFeatures;
    }

    /** The features the driver accepted (plus the protocol bit when the back-end has it, as the protocol asks). */
    @Override
    public synchronized void setFeatures(long features) throws VhostException {
        long protocolBit = backendFeatures & (1L << F_PROTOCOL_FEATURES);
        send(Request.SET_FEATURES, u64(features | protocolBit));
    }

    public synchronized boolean hasProtocolFeature(int bit) {
        return (protocolFeatures & (1L << bit)) != 0;
    }

    @Override
    public synchronized void setOwner() throws VhostException {
        send(Request.SET_OWNER, new byte[0]);
    }

    /**
     * The guest's memory: each region with the descriptor of the file it lives in, which the back-end maps. A region
     * without one (private anonymous RAM) cannot be shared: an IllegalArgumentException.
     */
    @Override
    public synchronized void setMemTable(List<VhostMemoryRegion> regions) throws VhostException {
        int[] fds = new int[regions.size()];
        for (int i = 0; i < fds.length; i++) {
            OptionalInt fd = regions.get(i).fd();
            if (fd.isEmpty() || fd.getAsInt() < 0) {
                throw new VhostException("vhost-user back-end " + name + ": guest RAM at 0x"
                        + Long.toHexString(regions.get(i).guestAddress())
                        + " is not shared (a vhost-user device needs shared guest memory)");
            }
            fds[i] = fd.getAsInt();
        }
        if (regions.isEmpty() || regions.size() > MAX_MEMORY_REGIONS) {
            throw new VhostException("vhost-user back-end " + name + ": " + regions.size()
                    + " guest RAM regions (a memory table has 1 to " + MAX_MEMORY_REGIONS + ")");
        }
        send(Request.SET_MEM_TABLE, memoryTable(regions), fds);
    }

    @Override
    public synchronized void setVringNum(int queue, int size) throws VhostException {
        send(Request.SET_VRING_NUM, vringState(queue, size));
    }

    @Override
    public synchronized void setVringAddr(VringAddress addresses) throws VhostException {
        send(Request.SET_VRING_ADDR, ringAddresses(addresses));
    }

    @Override
    public synchronized void setVringBase(int queue, int base) throws VhostException {
        send(Request.SET_VRING_BASE, vringState(queue, base));
    }

    /** Stops the ring and returns the next available index the back-end would have used. */
    @Override
    public synchronized int getVringBase(int queue) throws VhostException {
        byte[] reply = exchange(Request.GET_VRING_BASE, vringState(queue, 0), new int[0]);
        try {
            return decodeVringState(Request.GET_VRING_BASE, queue, reply);
        } catch (VhostException e) {
            throw fail(e.getMessage());
        }
    }

    /** The eventfd the back-end waits on for the guest's notifications of {@code queue}; null: it polls. */
    @Override
    public synchronized void setVringKick(int queue, EventFd kick) throws VhostException {
        sendRingFd(Request.SET_VRING_KICK, queue, kick);
    }

    /** The eventfd the back-end signals for used buffers of {@code queue} (an irqfd); null: no interrupts. */
    @Override
    public synchronized void setVringCall(int queue, EventFd call) throws VhostException {
        sendRingFd(Request.SET_VRING_CALL, queue, call);
    }

    /** Enables or disables {@code queue} (rings start disabled once protocol features are negotiated). */
    @Override
    public synchronized void setVringEnable(int queue, boolean enable) throws VhostException {
        send(Request.SET_VRING_ENABLE, vringState(queue, enable ? 1 : 0));
    }

    /** Reads {@code size} bytes of the device's configuration space from the back-end (PROTOCOL_F_CONFIG). */
    public synchronized byte[] getConfig(int offset, int size) throws VhostException {
        if (!hasProtocolFeature(PROTOCOL_F_CONFIG)) {
            throw new IllegalStateException("the back-end " + name + " has no configuration space (no PROTOCOL_F_CONFIG)");
        }
        byte[] reply = exchange(Request.GET_CONFIG, config(offset, 0, new byte[size]), new int[0]);
        try {
            return decodeConfig(offset, size, reply);
        } catch (VhostException e) {
            throw fail(e.getMessage());
        }
    }

    /** The kick descriptor may be the ioeventfd KVM signals: the back-end reads the guest's notifications itself. */
    @Override
    public boolean mayShareKickFd() {
        return true;
    }

    /** Closes the connection; the back-end sees it end (virtiofsd exits then). Safe from any thread. */
    @Override
    public void close() {
        if (broken == null) {
            broken = "the connection is closed";
        }
        socket.close();
    }

    public String name() {
        return name;
    }

    private void sendRingFd(Request request, int queue, EventFd fd) throws VhostException {
        if (fd == null) {
            send(request, vringFd(queue, true));
        } else {
            send(request, vringFd(queue, false), new int[] {fd.fd()});
        }
    }

    private long call(Request request) throws VhostException {
        byte[] reply = exchange(request, new byte[0], new int[0]);
        try {
            return decodeU64(request, reply);
        } catch (VhostException e) {
            throw fail(e.getMessage());
        }
    }

    private void send(Request request, byte[] payload) throws VhostException {
        send(request, payload, new int[0]);
    }

    /** A request without a reply of its own; acknowledged when REPLY_ACK was negotiated. */
    private void send(Request request, byte[] payload, int[] fds) throws VhostException {
        if (!replyAck) {
            transmit(request, 0, payload, fds, deadline());
            return;
        }
        long deadline = deadline();
        transmit(request, FLAG_NEED_REPLY, payload, fds, deadline);
        byte[] reply = receiveReply(request, deadline);
        long status;
        try {
            status = decodeU64(request, reply);
        } catch (VhostException e) {
            throw fail(e.getMessage());
        }
        if (status != 0) {
            throw fail("the back-end refused " + request + " (status " + status + ")");
        }
    }

    /** A request with a reply: returns the reply's payload. */
    private byte[] exchange(Request request, byte[] payload, int[] fds) throws VhostException {
        long deadline = deadline();
        transmit(request, 0, payload, fds, deadline);
        return receiveReply(request, deadline);
    }

    private long deadline() {
        return System.nanoTime() + timeout.toNanos();
    }

    private void transmit(Request request, int flags, byte[] payload, int[] fds, long deadline) throws VhostException {
        checkUsable();
        boolean sent;
        try {
            sent = socket.send(message(request, flags, payload), fds, remaining(deadline));
        } catch (TimeoutException e) {
            throw fail("the back-end does not take " + request + " (not read within " + timeout.toMillis() + " ms)");
        } catch (ErrnoException e) {
            throw fail("sending " + request + ": " + e.getMessage());
        }
        if (!sent) {
            throw fail("the connection was closed while sending " + request);
        }
    }

    /** The reply to {@code request}: a header that answers it, then exactly the payload it announces. */
    private byte[] receiveReply(Request request, long deadline) throws VhostException {
        Header header = Header.decode(receiveExactly(request, HEADER_SIZE, deadline));
        if (header.request() != request.code()) {
            Request other = Request.of(header.request());
            throw fail("the back-end answered " + request + " with "
                    + (other == null ? "request " + Integer.toUnsignedString(header.request()) : other.toString()));
        }
        if (!header.isReply() || header.version() != VERSION) {
            throw fail("the reply to " + request + " has flags 0x" + Integer.toHexString(header.flags())
                    + " (want version 1 and the reply bit)");
        }
        if (header.size() < 0 || header.size() > MAX_PAYLOAD) {
            throw fail("the reply to " + request + " announces a " + Integer.toUnsignedString(header.size())
                    + "-byte payload (at most " + MAX_PAYLOAD + ")");
        }
        return receiveExactly(request, header.size(), deadline);
    }

    private byte[] receiveExactly(Request request, int length, long deadline) throws VhostException {
        byte[] out = new byte[length];
        int got = 0;
        while (got < length) {
            byte[] part = new byte[length - got];
            UnixSocket.Received r;
            try {
                r = socket.receive(part, remaining(deadline));
            } catch (TimeoutException e) {
                throw fail("no reply to " + request + " within " + timeout.toMillis() + " ms");
            } catch (ErrnoException e) {
                throw fail("receiving the reply to " + request + ": " + e.getMessage());
            }
            for (int fd : r.fds()) {
                Fds.closeQuietly(fd); // no reply this front-end asks for carries descriptors
            }
            if (r.closed()) {
                throw fail("the connection was closed while waiting for the reply to " + request);
            }
            if (r.length() == 0) {
                throw fail("the back-end closed the connection " + (got == 0 && length == HEADER_SIZE
                        ? "instead of answering " : "in the middle of the reply to ") + request);
            }
            System.arraycopy(part, 0, out, got, r.length());
            got += r.length();
        }
        return out;
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    private void checkUsable() throws VhostException {
        String why = broken;
        if (why != null) {
            throw new VhostException("vhost-user back-end " + name + ": " + why);
        }
    }

    /** Marks the connection unusable and closes it; returns the exception to throw. */
    private VhostException fail(String why) {
        if (broken == null) {
            broken = why;
            LOG.warn("vhost-user back-end {}: {}; closing the connection", name, why);
        }
        socket.close();
        return new VhostException("vhost-user back-end " + name + ": " + why);
    }
}
