package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;

/** A Linux eventfd: the doorbell KVM uses for ioeventfd (guest → VMM) and irqfd (VMM → guest). */
public final class EventFd implements AutoCloseable {
    private final int fd;
    private final Memory counter = new Memory(8);
    private volatile boolean closed;

    public EventFd(boolean nonBlocking) {
        try {
            fd = LibC.eventfd(0, LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0));
        } catch (LastErrorException e) {
            throw new ErrnoException("eventfd", e.getErrorCode());
        }
    }

    public int fd() {
        return fd;
    }

    /** Adds {@code value} to the counter, waking any reader (or KVM, for an irqfd). */
    public void signal(long value) {
        synchronized (counter) {
            if (closed) {
                return; // a late signal from a backend thread must never write to a reused fd number
            }
            counter.setLong(0, value);
            Sys.write(fd, counter, 8, "eventfd");
        }
    }

    public void signal() {
        signal(1);
    }

    /** Reads and resets the counter; 0 when a non-blocking eventfd had nothing pending. */
    public long consume() {
        synchronized (counter) {
            if (closed) {
                return 0;
            }
            long n = Sys.read(fd, counter, 8, "eventfd");
            return n == 8 ? counter.getLong(0) : 0;
        }
    }

    @Override
    public void close() {
        synchronized (counter) {
            if (!closed) {
                closed = true;
                Sys.close(fd);
            }
        }
    }
}
