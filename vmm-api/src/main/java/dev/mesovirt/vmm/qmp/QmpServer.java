package dev.mesovirt.vmm.qmp;

import com.google.gson.JsonObject;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.UnixSocket;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QMP monitor on a UNIX stream socket, QEMU's wire protocol: a greeting on connect, capabilities negotiation,
 * then commands from a {@link QmpCommands} registry, and events from {@link #emit}.
 *
 * <p>Like QEMU's {@code -qmp unix:PATH,server}, one client is served at a time; the next one is accepted (and
 * greeted) when it disconnects. The socket file replaces a stale socket at the same path, is created mode 0600
 * (set on the socket before bind, so it is never wider), and is deleted by {@link #close()}.
 *
 * <p>The socket is a native one ({@link UnixSocket}) so that clients can pass file descriptors with a request
 * (SCM_RIGHTS), as QEMU's monitor allows: {@code getfd} keeps the one that came with it in the monitor's table under
 * a name, for a command such as netdev_add to {@link #takeFd take}; descriptors that come with any other request
 * are closed once it has been answered. The table outlives client connections and is closed with the server.
 *
 * <p>Threads (daemons): {@code qmp-server} accepts a client and reads its requests, running each command on that
 * thread, one at a time (see {@link QmpCommands} on handlers that block); {@code qmp-writer-N} writes the client's
 * replies and events in order from a bounded queue.
 */
public final class QmpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QmpServer.class);

    /**
     * Resource bounds.
     *
     * @param maxMessageBytes the largest request accepted (QEMU allows 64 MiB; a VMM's requests are tiny)
     * @param maxDepth        the deepest nesting of objects and arrays in a request (QEMU: 1024)
     * @param outputQueue     lines queued for a client before an event drops it
     * @param drainTimeout    how long queued replies may take to go out after the client half-closes
     * @param maxPending      requests parsed ahead of the one running (QEMU queues 8, QMP_REQ_QUEUE_LEN_MAX): the
     *                        reader parses no further until they are answered, the rest of its read stays raw bytes
     */
    record Limits(int maxMessageBytes, int maxDepth, int outputQueue, Duration drainTimeout, int maxPending) {
        static final Limits DEFAULT = new Limits(1 << 20, 1024, 1024, Duration.ofSeconds(2), 8);

        Limits {
            if (maxPending < 1 || outputQueue < 1) {
                throw new IllegalArgumentException("maxPending and outputQueue must be at least 1");
            }
        }
    }

    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(2);
    private static final long ACCEPT_RETRY_MS = 100;
    private static final int BACKLOG = 50;

    private final Path socket;
    private final QmpVersion version;
    private final QmpCommands commands;
    private final Limits limits;
    private final Object lifecycle = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger unexpectedErrors = new AtomicInteger();
    private final QmpFdTable fds = new QmpFdTable();
    private UnixSocket server; // set by start(), under lifecycle
    private Thread thread;
    private volatile QmpConnection current;
    /** Set while the reader runs a request and queues its reply: close() lets it finish (e.g. quit's reply). */
    private volatile boolean responding;

    /** A server for {@code socket}; nothing happens until {@link #start()}. */
    public QmpServer(Path socket, QmpVersion version, QmpCommands commands) {
        this(socket, version, commands, Limits.DEFAULT);
    }

    QmpServer(Path socket, QmpVersion version, QmpCommands commands, Limits limits) {
        this.socket = Objects.requireNonNull(socket, "socket");
        this.version = Objects.requireNonNull(version, "version");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** {@link #listen()} then {@link #serve()}: the socket answers at once. */
    public void start() {
        listen();
        serve();
    }

    /**
     * Creates the socket and listens on it, without answering yet: a client that connects now waits in the backlog
     * for its greeting until {@link #serve()}, as with QEMU, whose monitor greets once the machine is up. A socket
     * file already there (left by a process that died) is replaced, as QEMU does; any other kind of file is an error
     * rather than deleted.
     *
     * @throws UncheckedIOException if the socket cannot be created (its cause says why)
     * @throws IllegalStateException if already listening or closed
     */
    public void listen() {
        synchronized (lifecycle) {
            if (server != null || closed.get()) {
                throw new IllegalStateException("QMP server on " + socket + " already started or closed");
            }
            try {
                removeStaleSocket(socket);
                // 0600 from the bind on: nobody else may connect to the monitor, not even for an instant
                UnixSocket listening = UnixSocket.listen(socket, BACKLOG, 0600);
                try {
                    // Again by path, whatever the umask did (it can only have narrowed it).
                    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
                } catch (IOException | RuntimeException e) {
                    listening.close();
                    throw e;
                }
                server = listening;
            } catch (IOException e) {
                throw new UncheckedIOException("QMP: cannot listen on " + socket + ": " + e.getMessage(), e);
            } catch (ErrnoException | IllegalArgumentException e) {
                throw new UncheckedIOException("QMP: cannot listen on " + socket + ": " + e.getMessage(),
                        new IOException(e.getMessage(), e));
            }
        }
        LOG.debug("QMP listening on {}", socket);
    }

    /**
     * Starts accepting and greeting clients, the one waiting in the backlog first.
     *
     * @throws IllegalStateException if not listening, or already serving, or closed
     */
    public void serve() {
        synchronized (lifecycle) {
            if (server == null || thread != null || closed.get()) {
                throw new IllegalStateException("QMP server on " + socket + " is not listening, or already serving");
            }
            UnixSocket listening = server;
            thread = Thread.ofPlatform().daemon().name("qmp-server").start(() -> acceptLoop(listening));
        }
    }

    public Path socketPath() {
        return socket;
    }

    /**
     * Takes the descriptor that {@code getfd} stored under {@code name} out of the monitor's table, as QEMU's
     * monitor_get_fd does: from now on it is the caller's to close.
     *
     * @throws QmpException QEMU's "File descriptor named 'x' has not been found"
     */
    public int takeFd(String name) throws QmpException {
        return fds.take(name);
    }

    /** The monitor's descriptor table (for tests). */
    QmpFdTable fds() {
        return fds;
    }

    /**
     * Sends event {@code name} with optional {@code data} to the client, if one is connected and has completed
     * capabilities negotiation; otherwise the event is dropped, as QEMU does. Callable from any thread and never
     * blocks: a client too slow to take its events is disconnected instead. {@code data} must not be changed
     * after the call.
     */
    public void emit(String name, JsonObject data) {
        Objects.requireNonNull(name, "name");
        QmpConnection client = current;
        if (client == null || !client.acceptsEvents()) {
            return;
        }
        byte[] line;
        try {
            line = QmpJson.line(QmpJson.event(name, data, Instant.now()));
        } catch (RuntimeException e) { // NaN in the data, say: the emitter's bug, not a reason to fail its thread
            LOG.error("QMP event {} cannot be sent", name, e);
            return;
        }
        client.offerEvent(line);
    }

    /**
     * Stops accepting; lets the connected client's command in flight finish and its queued replies and events go
     * out (bounded by the drain timeout, 1 s by default); disconnects it, waits briefly (2 s at most) for the
     * threads and deletes the socket file. Idempotent; a server never started just becomes unusable.
     */
    @Override
    public void close() {
        UnixSocket channel;
        Thread accepter;
        synchronized (lifecycle) {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            channel = server;
            accepter = thread;
        }
        if (channel == null) {
            fds.closeAll();
            return; // never started: no socket of ours to delete
        }
        // What the client was promised goes out first: the reply of a command still running (the quit that ended the
        // VM), then every queued reply and event (the SHUTDOWN), each wait bounded.
        QmpConnection draining = current;
        if (draining != null) {
            long deadline = System.nanoTime() + limits.drainTimeout().toNanos();
            while (responding && System.nanoTime() < deadline && Thread.currentThread() != accepter) {
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            try {
                draining.finish(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        channel.close();
        QmpConnection client = current;
        if (client != null) {
            client.close();
        }
        try {
            if (accepter != null) {
                accepter.join(JOIN_TIMEOUT);
            }
            if (client != null) {
                client.awaitWriter(JOIN_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.warn("QMP: cannot delete {}: {}", socket, e.toString());
        }
        fds.closeAll(); // a getfd still running after the join timeout closes its descriptor itself
    }

    /** Errors of our own threads that were not the client's doing (for tests: should stay 0). */
    int unexpectedErrors() {
        return unexpectedErrors.get();
    }

    /** Whether a client is connected (for tests). */
    boolean hasClient() {
        QmpConnection client = current;
        return client != null && !client.isClosed();
    }

    private void unexpected(Throwable t) {
        unexpectedErrors.incrementAndGet();
    }

    private static void removeStaleSocket(Path socket) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        // isOther(): a socket (or fifo or device); a regular file or directory is not ours to delete
        if (!attributes.isOther()) {
            throw new IOException("it exists and is not a socket");
        }
        Files.delete(socket);
    }

    private void acceptLoop(UnixSocket server) {
        int clients = 0;
        while (!closed.get()) {
            UnixSocket channel;
            try {
                channel = server.accept();
            } catch (ErrnoException e) {
                if (closed.get()) {
                    break;
                }
                LOG.warn("QMP: accept on {} failed: {}", socket, e.toString());
                try {
                    Thread.sleep(ACCEPT_RETRY_MS); // e.g. out of file descriptors: don't spin
                } catch (InterruptedException ie) {
                    break;
                }
                continue;
            }
            if (channel == null) {
                break; // close()
            }
            try {
                serve(channel, ++clients);
            } catch (RuntimeException | Error e) {
                LOG.error("QMP: serving a client failed", e);
                unexpected(e);
            }
        }
    }

    private void serve(UnixSocket channel, int number) {
        QmpConnection client = new QmpConnection(channel, limits.outputQueue(), number, this::unexpected);
        QmpSession session = new QmpSession(commands, version, limits.maxDepth(), fds, this::unexpected);
        Input input = new Input(channel, client, session, number);
        current = client;
        LOG.debug("QMP client {} connected", number);
        try {
            if (closed.get()) {
                return; // close() ran before current was set
            }
            client.start();
            if (!client.sendReply(session.greeting())) {
                return;
            }
            input.readUntilEnd();
        } catch (ErrnoException e) {
            LOG.debug("QMP client {} read failed: {}", number, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            input.dropPending();
            client.close();
            current = null;
            LOG.debug("QMP client {} disconnected", number);
        }
    }

    /**
     * One client's input, on the reader thread: bytes become requests, each answered with the descriptors that came
     * with it. A read of the socket ends with the send that carried descriptors (Linux joins earlier bytes to it,
     * never later ones), so they came with the request that ends the read: the one still being received if the
     * read ends inside a value, else the last one completed. A read that brings only whitespace with descriptors
     * (QEMU's Python client sends one space with them, then getfd) leaves them for the next request. Descriptors
     * waiting for a request are closed when newer ones arrive, as QEMU replaces them, and when the client goes.
     */
    private final class Input {
        private final UnixSocket channel;
        private final QmpConnection client;
        private final QmpSession session;
        private final int number;
        private final JsonFramer framer = new JsonFramer(limits.maxMessageBytes(), limits.maxDepth());
        private final byte[] buffer = new byte[64 * 1024];
        private final List<JsonFramer.Frame> frames = new ArrayList<>();
        /** Descriptors for the next request to complete. */
        private PassedFds pending = PassedFds.NONE;

        Input(UnixSocket channel, QmpConnection client, QmpSession session, int number) {
            this.channel = channel;
            this.client = client;
            this.session = session;
            this.number = number;
        }

        void readUntilEnd() throws InterruptedException {
            while (!client.isClosed()) {
                UnixSocket.Received in = channel.receive(buffer);
                if (in.closed()) {
                    return; // dropped by emit() or close()
                }
                if (in.fdsTruncated()) {
                    LOG.warn("QMP client {} sent more than {} descriptors at once: the kernel closed the rest",
                            number, UnixSocket.MAX_FDS);
                }
                PassedFds carried = in.fds().length > 0 ? new PassedFds(in.fds()) : PassedFds.NONE;
                if (in.length() == 0) {
                    carried.closeRest();
                    client.finish(limits.drainTimeout());
                    return;
                }
                // At most maxPending requests parsed at a time: those of the read's earlier part are answered before
                // its next part is parsed; only the last part's requests can take the descriptors of this read.
                int offset = 0;
                try {
                    while (offset < in.length() && !client.isClosed()) {
                        frames.clear();
                        offset += framer.feed(buffer, offset, in.length() - offset, frames::add,
                                limits.maxPending());
                        if (offset < in.length()) {
                            answer(frames, PassedFds.NONE);
                        }
                    }
                } catch (RuntimeException e) {
                    carried.closeRest();
                    frames.clear();
                    throw e;
                }
                PassedFds later = PassedFds.NONE; // for the request still being received, or the next one
                if (framer.midValue() || frames.isEmpty()) {
                    later = carried;
                    carried = PassedFds.NONE;
                }
                try {
                    answer(frames, carried);
                } finally {
                    carried.closeRest(); // a no-op once answered: only an exception gets here with it open
                    frames.clear();
                    if (later != PassedFds.NONE) {
                        pending.closeRest(); // waiting since an earlier read and still not taken: replaced
                        pending = later;
                    }
                }
            }
        }

        /** Answers {@code parsed} in order; the last one gets {@code carried} if there are any. */
        private void answer(List<JsonFramer.Frame> parsed, PassedFds carried) {
            for (int i = 0; i < parsed.size(); i++) {
                PassedFds fds = pending;
                pending = PassedFds.NONE;
                if (i == parsed.size() - 1 && carried != PassedFds.NONE) {
                    fds.closeRest();
                    fds = carried;
                }
                try {
                    respond(client, session, parsed.get(i), fds);
                } finally {
                    fds.closeRest();
                }
            }
        }

        void dropPending() {
            pending.closeRest();
            pending = PassedFds.NONE;
        }
    }

    /** Runs on the reader: one reply per frame, queued in input order. */
    private void respond(QmpConnection client, QmpSession session, JsonFramer.Frame frame, PassedFds passed) {
        if (client.isClosed()) {
            return; // dropped: don't run what it still had in flight
        }
        responding = true;
        try {
            QmpSession.Reply reply = session.handle(frame, passed);
            if (client.sendReply(reply.line()) && reply.enablesEvents()) {
                client.enableEvents();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
        } finally {
            responding = false;
        }
    }
}
