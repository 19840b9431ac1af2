package dev.mesovirt.vmm.device;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a console device's bytes go and where its input comes from: this process's stdio, a file, nothing, or any
 * pair of streams.
 *
 * <p>Output is buffered and written by a flusher thread, so a guest printing byte by byte through THR costs one
 * write(2) per burst rather than per byte, and the vCPU never waits on the host's terminal unless the buffer is
 * full. The flusher writes whatever has accumulated within {@value Streams#COALESCE_MILLIS} ms of the first byte of
 * a burst; nothing stays buffered longer than that. {@link #close()} drains, and a shutdown hook drains at exit.
 *
 * <p>Input is read on a daemon thread after {@link #start} and handed to a {@link Receiver} with back-pressure:
 * when the device's FIFO is full the thread waits instead of dropping bytes. At end of input the thread stops.
 */
public sealed interface SerialBackend extends AutoCloseable permits SerialBackend.Discard, SerialBackend.Streams {

    /** A device that takes input bytes, e.g. a UART's receive FIFO. */
    interface Receiver {
        /** Takes as many of the bytes as fit now and returns how many (0 when full); never blocks. */
        int offer(byte[] data, int offset, int length);

        /** Waits up to {@code timeoutMillis} for room; may return early, callers re-{@link #offer}. */
        void awaitRoom(long timeoutMillis) throws InterruptedException;
    }

    /** Queues one byte of guest output (the low 8 bits of {@code b}). */
    void write(int b);

    /** Queues guest output. */
    void write(byte[] data, int offset, int length);

    /** Starts delivering input to {@code receiver}; a backend without input ignores it. At most once. */
    void start(Receiver receiver);

    /** Blocks until everything queued so far has been written out (or writing has failed). */
    void flush();

    /** Drains output, stops input, restores the terminal; idempotent. */
    @Override
    void close();

    /** Discards output; no input. */
    static SerialBackend none() {
        return new Discard();
    }

    /**
     * Appends output to {@code path} (created if missing); no input.
     *
     * @throws UncheckedIOException if the file cannot be opened
     */
    static SerialBackend file(Path path) {
        OutputStream out;
        try {
            out = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open serial output file " + path, e);
        }
        return new Streams("file " + path, null, false, out, true, false, null);
    }

    /**
     * Output to fd 1, input from fd 0. When stdin is a terminal, {@link #start} puts it in raw mode (so Ctrl-C goes
     * to the guest) and Ctrl-A x calls {@code onQuit}; Ctrl-A Ctrl-A sends a Ctrl-A, Ctrl-A h prints help. The
     * terminal is restored on {@link #close()} and at JVM exit. The process's fds 0 and 1 are never closed.
     */
    static SerialBackend stdio(Runnable onQuit) {
        Objects.requireNonNull(onQuit, "onQuit");
        return new Streams("stdio", new FileInputStream(FileDescriptor.in), false,
                new FileOutputStream(FileDescriptor.out), false, true, onQuit);
    }

    /** Arbitrary streams (tests, other consoles); {@code in} may be null for output only. Closing closes both. */
    static SerialBackend of(InputStream in, OutputStream out) {
        return new Streams("streams", in, true, Objects.requireNonNull(out, "out"), true, false, null);
    }

    /** As {@link #of(InputStream, OutputStream)}, with Ctrl-A escapes on the input: Ctrl-A x calls {@code onQuit}. */
    static SerialBackend of(InputStream in, OutputStream out, Runnable onQuit) {
        return new Streams("streams", in, true, Objects.requireNonNull(out, "out"), true, false,
                Objects.requireNonNull(onQuit, "onQuit"));
    }

    /** The backend that drops everything. */
    final class Discard implements SerialBackend {
        private Discard() {}

        @Override
        public void write(int b) {}

        @Override
        public void write(byte[] data, int offset, int length) {}

        @Override
        public void start(Receiver receiver) {}

        @Override
        public void flush() {}

        @Override
        public void close() {}

        @Override
        public String toString() {
            return "SerialBackend.none";
        }
    }

    /** Output to a stream through a flusher thread; optional input from a stream on a reader thread. */
    final class Streams implements SerialBackend {
        private static final Logger LOG = LoggerFactory.getLogger(SerialBackend.class);

        static final int CAPACITY = 64 * 1024;
        /** How long the flusher lets a burst accumulate; bounds the delay of any byte. */
        static final int COALESCE_MILLIS = 2;
        /** A burst this large is written at once. */
        private static final int EAGER_BYTES = 4096;
        private static final long CLOSE_DRAIN_MILLIS = 2000;
        private static final long ROOM_WAIT_MILLIS = 100;
        private static final byte CTRL_A = 0x01;
        private static final String HELP = "\r\nC-a x    exit\r\nC-a C-a  send C-a\r\nC-a h    this help\r\n";

        private final String name;
        private final InputStream in;
        private final boolean ownsIn;
        private final OutputStream out;
        private final boolean ownsOut;
        private final boolean rawWhenTerminal;
        private final Runnable onQuit;

        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final byte[] buffer = new byte[CAPACITY];
        private int count; // guarded by lock
        private boolean writing; // guarded by lock: the flusher holds a chunk not yet written
        private boolean closing; // guarded by lock
        private int flushWaiters; // guarded by lock
        private volatile boolean failed;
        private final Thread flusher;
        private final Thread exitHook;

        private volatile boolean closed;
        private boolean started; // guarded by this
        private Thread reader; // guarded by this
        private Terminal terminal; // guarded by this
        private boolean escapePending; // reader thread only
        private boolean escapes; // set before the reader starts

        private Streams(String name, InputStream in, boolean ownsIn, OutputStream out, boolean ownsOut,
                boolean rawWhenTerminal, Runnable onQuit) {
            this.name = name;
            this.in = in;
            this.ownsIn = ownsIn;
            this.out = out;
            this.ownsOut = ownsOut;
            this.rawWhenTerminal = rawWhenTerminal;
            this.onQuit = onQuit;
            this.escapes = onQuit != null && !rawWhenTerminal;
            this.flusher = Thread.ofPlatform().daemon().name("serial-out-" + name).unstarted(this::flushLoop);
            this.exitHook = new Thread(this::drainAtExit, "serial-drain-" + name);
            flusher.start();
            Runtime.getRuntime().addShutdownHook(exitHook);
        }

        @Override
        public void write(int b) {
            lock.lock();
            try {
                if (!awaitSpace()) {
                    return;
                }
                buffer[count++] = (byte) b;
                signalFlusher();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void write(byte[] data, int offset, int length) {
            Objects.checkFromIndexSize(offset, length, data.length);
            lock.lock();
            try {
                while (length > 0) {
                    if (!awaitSpace()) {
                        return;
                    }
                    int n = Math.min(length, CAPACITY - count);
                    System.arraycopy(data, offset, buffer, count, n);
                    count += n;
                    offset += n;
                    length -= n;
                    signalFlusher();
                }
            } finally {
                lock.unlock();
            }
        }

        /** Waits while the buffer is full (back-pressure); false when output is being discarded. */
        private boolean awaitSpace() {
            while (count == CAPACITY && !closing && !failed) {
                changed.awaitUninterruptibly();
            }
            return !closing && !failed;
        }

        private void signalFlusher() {
            if (count == 1 || count >= EAGER_BYTES) {
                changed.signalAll(); // start of a burst, or a big burst to write now
            }
        }

        private void flushLoop() {
            byte[] chunk = new byte[CAPACITY];
            while (true) {
                int n;
                lock.lock();
                try {
                    while (count == 0 && !closing) {
                        changed.awaitUninterruptibly();
                    }
                    if (count == 0) {
                        return; // closing, and drained
                    }
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(COALESCE_MILLIS);
                    while (!closing && flushWaiters == 0 && count < EAGER_BYTES) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        try {
                            changed.awaitNanos(left);
                        } catch (InterruptedException e) {
                            break;
                        }
                    }
                    n = count;
                    System.arraycopy(buffer, 0, chunk, 0, n);
                    count = 0;
                    writing = true;
                    changed.signalAll(); // writers waiting for space
                } finally {
                    lock.unlock();
                }
                writeOut(chunk, n);
                lock.lock();
                try {
                    writing = false;
                    changed.signalAll(); // flush() waiters
                } finally {
                    lock.unlock();
                }
            }
        }

        private void writeOut(byte[] chunk, int n) {
            if (failed) {
                return;
            }
            try {
                out.write(chunk, 0, n);
                out.flush();
            } catch (IOException e) {
                failed = true; // the guest must not stall on a dead console: discard from now on
                LOG.warn("serial output to {} failed, discarding further output: {}", name, e.toString());
            }
        }

        @Override
        public void flush() {
            flush(Long.MAX_VALUE);
        }

        private void flush(long timeoutMillis) {
            long deadline = timeoutMillis == Long.MAX_VALUE ? Long.MAX_VALUE
                    : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            lock.lock();
            try {
                flushWaiters++;
                changed.signalAll();
                while ((count > 0 || writing) && !failed && flusher.isAlive()) {
                    if (deadline == Long.MAX_VALUE) {
                        changed.awaitUninterruptibly();
                    } else {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        try {
                            changed.awaitNanos(left);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                }
            } finally {
                flushWaiters--;
                lock.unlock();
            }
        }

        private void drainAtExit() {
            flush(CLOSE_DRAIN_MILLIS);
        }

        @Override
        public synchronized void start(Receiver receiver) {
            Objects.requireNonNull(receiver, "receiver");
            if (started) {
                throw new IllegalStateException(name + " serial backend is already started");
            }
            started = true;
            if (in == null || closed) {
                return;
            }
            if (rawWhenTerminal && Terminal.isTerminal(0)) {
                terminal = Terminal.enterRawMode(0);
                escapes = true;
            }
            reader = Thread.ofPlatform().daemon().name("serial-in-" + name).unstarted(() -> readLoop(receiver));
            reader.start();
        }

        private void readLoop(Receiver receiver) {
            byte[] buf = new byte[512];
            byte[] filtered = new byte[512];
            try {
                while (!closed) {
                    int n = in.read(buf);
                    if (n < 0) {
                        LOG.debug("end of serial input from {}", name);
                        return; // EOF: stop reading rather than spin
                    }
                    if (!escapes) {
                        deliver(receiver, buf, n);
                        continue;
                    }
                    int m = 0;
                    for (int i = 0; i < n; i++) {
                        byte b = buf[i];
                        if (escapePending) {
                            escapePending = false;
                            if (b == CTRL_A) {
                                filtered[m++] = b;
                            } else if (b == 'x' || b == 'X') {
                                deliver(receiver, filtered, m);
                                quit();
                                return;
                            } else if (b == 'h' || b == 'H' || b == '?') {
                                byte[] help = HELP.getBytes(StandardCharsets.US_ASCII);
                                write(help, 0, help.length);
                            } // anything else after the escape is dropped, as QEMU's mux does
                        } else if (b == CTRL_A) {
                            escapePending = true;
                        } else {
                            filtered[m++] = b;
                        }
                    }
                    deliver(receiver, filtered, m);
                }
            } catch (InterruptedException | InterruptedIOException e) {
                // closing
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("serial input from {} failed: {}", name, e.toString());
                }
            }
        }

        private void deliver(Receiver receiver, byte[] data, int length) throws InterruptedException {
            int offset = 0;
            while (offset < length && !closed) {
                int taken = receiver.offer(data, offset, length - offset);
                if (taken > 0) {
                    offset += taken;
                } else {
                    receiver.awaitRoom(ROOM_WAIT_MILLIS);
                }
            }
        }

        private void quit() {
            LOG.info("Ctrl-A x on {}: quitting", name);
            try {
                onQuit.run();
            } catch (RuntimeException e) {
                LOG.warn("serial quit handler failed", e);
            }
        }

        @Override
        public void close() {
            Thread readerThread;
            Terminal term;
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                readerThread = reader;
                term = terminal;
            }
            if (term != null) {
                term.restore();
            }
            flush(CLOSE_DRAIN_MILLIS);
            lock.lock();
            try {
                closing = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            try {
                flusher.join(CLOSE_DRAIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
            if (readerThread != null && readerThread != Thread.currentThread()) {
                readerThread.interrupt(); // a read(2) on fd 0 is not interruptible: the daemon thread dies at exit
            }
            closeQuietly(ownsIn ? in : null);
            closeQuietly(ownsOut ? out : null);
        }

        private static void closeQuietly(AutoCloseable c) {
            if (c == null) {
                return;
            }
            try {
                c.close();
            } catch (Exception e) {
                // nothing useful to do while closing
            }
        }

        @Override
        public String toString() {
            return "SerialBackend[" + name + "]";
        }
    }
}
