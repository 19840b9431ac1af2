package dev.mesovirt.vmm.qmp;

import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.UnixSocket;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's output side: a bounded queue of lines, written in order by the connection's own writer thread, so
 * that neither replies nor events ever wait for the client in the thread that produced them. Events that find
 * the queue full drop the client (it is not reading); replies wait for room instead, which stops the client's
 * reader from taking more requests until the client reads (QEMU suspends its monitor the same way).
 */
final class QmpConnection {
    private static final Logger LOG = LoggerFactory.getLogger(QmpConnection.class);

    /** Queued after the last reply when the client has closed its side: the writer flushes up to it and ends. */
    private static final byte[] END = new byte[0];
    private static final long OFFER_POLL_MS = 50;

    private final UnixSocket socket;
    private final BlockingQueue<byte[]> out;
    private final Thread writer;
    private final Consumer<Throwable> unexpected;
    private volatile boolean eventsEnabled;
    private volatile boolean closed;

    QmpConnection(UnixSocket socket, int queueCapacity, int number, Consumer<Throwable> unexpected) {
        this.socket = socket;
        this.out = new ArrayBlockingQueue<>(queueCapacity);
        this.unexpected = unexpected;
        this.writer = Thread.ofPlatform().daemon().name("qmp-writer-" + number).unstarted(this::writeLoop);
    }

    void start() {
        writer.start();
    }

    boolean isClosed() {
        return closed;
    }

    /** After the reply that completed capabilities negotiation has been queued. */
    void enableEvents() {
        eventsEnabled = true;
    }

    boolean acceptsEvents() {
        return eventsEnabled && !closed;
    }

    /** Queues an event line; never blocks. A full queue means the client does not read: it is disconnected. */
    void offerEvent(byte[] line) {
        if (!acceptsEvents()) {
            return;
        }
        if (!out.offer(line)) {
            LOG.warn("QMP client does not read its messages ({} queued): disconnecting it", out.size());
            close();
        }
    }

    /** Queues a reply, waiting for room; false if the connection closed meanwhile. */
    boolean sendReply(byte[] line) throws InterruptedException {
        while (!closed) {
            if (out.offer(line, OFFER_POLL_MS, TimeUnit.MILLISECONDS)) {
                return true;
            }
        }
        return false;
    }

    /** The client closed its side: let the writer send what is queued (up to {@code timeout}), then close. */
    void finish(Duration timeout) throws InterruptedException {
        // Bounded both ways: a half-closed client that never reads must not keep the next client waiting.
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!closed && out.offer(END, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            writer.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        }
        close();
    }

    /** Closes the socket and stops the writer; safe from any thread, never blocks. */
    void close() {
        closed = true;
        socket.close(); // wakes the reader and the writer if they wait on the socket
        writer.interrupt(); // wakes the writer if it waits on the queue
    }

    /** Waits for the writer thread to end (after close()). */
    void awaitWriter(Duration timeout) throws InterruptedException {
        writer.join(timeout);
    }

    private void writeLoop() {
        try {
            while (!closed) {
                byte[] line = out.take();
                if (line == END) {
                    break;
                }
                if (!socket.send(line)) {
                    break; // closed
                }
            }
        } catch (InterruptedException e) {
            // closing
        } catch (ErrnoException e) {
            LOG.debug("QMP client went away while being written to: {}", e.toString());
        } catch (RuntimeException | Error e) {
            LOG.error("QMP writer failed", e);
            unexpected.accept(e);
        } finally {
            close();
        }
    }
}
