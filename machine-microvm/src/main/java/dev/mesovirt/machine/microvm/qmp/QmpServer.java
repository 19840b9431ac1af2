package dev.mesovirt.machine.microvm.qmp;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
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
 * greeted) when it disconnects. The socket file replaces a stale socket at the same path, is made mode 0600 at
 * once, and is deleted by {@link #close()}.
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
     */
    record Limits(int maxMessageBytes, int maxDepth, int outputQueue, Duration drainTimeout) {
        static final Limits DEFAULT = new Limits(1 << 20, 1024, 1024, Duration.ofSeconds(2));
    }

    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(2);
    private static final long ACCEPT_RETRY_MS = 100;

    private final Path socket;
    private final QmpVersion version;
    private final QmpCommands commands;
    private final Limits limits;
    private final Object lifecycle = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger unexpectedErrors = new AtomicInteger();
    private ServerSocketChannel server; // set by start(), under lifecycle
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

    /**
     * Listens on the socket and starts serving. A socket file already there (left by a process that died) is
     * replaced, as QEMU does; any other kind of file is an error rather than deleted.
     *
     * @throws UncheckedIOException if the socket cannot be created (its cause says why)
     * @throws IllegalStateException if already started or closed
     */
    public void start() {
        synchronized (lifecycle) {
            if (server != null || closed.get()) {
                throw new IllegalStateException("QMP server on " + socket + " already started or closed");
            }
            try {
                removeStaleSocket(socket);
                ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    channel.bind(UnixDomainSocketAddress.of(socket));
                    // Before the first accept: nobody else may connect to the monitor.
                    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
                } catch (IOException | RuntimeException e) {
                    channel.close();
                    throw e;
                }
                server = channel;
            } catch (IOException e) {
                throw new UncheckedIOException("QMP: cannot listen on " + socket + ": " + e.getMessage(), e);
            }
            ServerSocketChannel listening = server;
            thread = Thread.ofPlatform().daemon().name("qmp-server").start(() -> acceptLoop(listening));
        }
        LOG.debug("QMP listening on {}", socket);
    }

    public Path socketPath() {
        return socket;
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
        ServerSocketChannel channel;
        Thread accepter;
        synchronized (lifecycle) {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            channel = server;
            accepter = thread;
        }
        if (channel == null) {
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
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("QMP: closing the listening socket: {}", e.toString());
        }
        QmpConnection client = current;
        if (client != null) {
            client.close();
        }
        try {
            accepter.join(JOIN_TIMEOUT);
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

    private void acceptLoop(ServerSocketChannel server) {
        int clients = 0;
        while (!closed.get()) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (ClosedChannelException e) {
                break; // close()
            } catch (IOException e) {
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
            try {
                serve(channel, ++clients);
            } catch (RuntimeException | Error e) {
                LOG.error("QMP: serving a client failed", e);
                unexpected(e);
            }
        }
    }

    private void serve(SocketChannel channel, int number) {
        QmpConnection client = new QmpConnection(channel, limits.outputQueue(), number, this::unexpected);
        QmpSession session = new QmpSession(commands, version, limits.maxDepth(), this::unexpected);
        JsonFramer framer = new JsonFramer(limits.maxMessageBytes(), limits.maxDepth());
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
            ByteBuffer input = ByteBuffer.allocate(64 * 1024);
            while (!client.isClosed()) {
                int n = channel.read(input);
                if (n < 0) {
                    client.finish(limits.drainTimeout());
                    break;
                }
                framer.feed(input.array(), 0, n, frame -> respond(client, session, frame));
                input.clear();
            }
        } catch (ClosedChannelException e) {
            // dropped by emit() or close(); AsynchronousCloseException is one of these
        } catch (IOException e) {
            LOG.debug("QMP client {} read failed: {}", number, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.close();
            current = null;
            LOG.debug("QMP client {} disconnected", number);
        }
    }

    /** Runs on the reader: one reply per frame, queued in input order. */
    private void respond(QmpConnection client, QmpSession session, JsonFramer.Frame frame) {
        if (client.isClosed()) {
            return; // dropped: don't run what it still had in flight
        }
        responding = true;
        try {
            QmpSession.Reply reply = session.handle(frame);
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
