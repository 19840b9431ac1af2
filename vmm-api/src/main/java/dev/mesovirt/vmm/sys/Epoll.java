package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Platform;

/**
 * An epoll instance. {@code struct epoll_event} is packed (12 bytes) on x86_64 only; arm64 and riscv64 use the
 * natural 16-byte layout with the data word at offset 8.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;

    static final int EVENT_SIZE = Platform.isIntel() ? 12 : 16;
    static final int DATA_OFFSET = Platform.isIntel() ? 4 : 8;

    private static final int CTL_ADD = 1;
    private static final int CTL_DEL = 2;
    private static final int CTL_MOD = 3;

    private final int fd;
    /** close() may be reached twice (error paths, shutdown); a second close(2) would hit a reused number. */
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final int capacity;
    private final Memory events;
    private final Memory control = new Memory(16);

    public Epoll(int capacity) {
        try {
            fd = LibC.epoll_create1(LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new ErrnoException("epoll_create1", e.getErrorCode());
        }
        this.capacity = capacity;
        this.events = new Memory((long) EVENT_SIZE * capacity);
    }

    /** The descriptor number (tests). */
    int fd() {
        return fd;
    }

    public synchronized void add(int watchedFd, int eventMask, long token) {
        control(CTL_ADD, watchedFd, eventMask, token, "epoll_ctl(ADD)");
    }

    public synchronized void modify(int watchedFd, int eventMask, long token) {
        control(CTL_MOD, watchedFd, eventMask, token, "epoll_ctl(MOD)");
    }

    public synchronized void remove(int watchedFd) {
        control(CTL_DEL, watchedFd, 0, 0, "epoll_ctl(DEL)");
    }

    private void control(int op, int watchedFd, int eventMask, long token, String name) {
        control.clear();
        control.setInt(0, eventMask);
        control.setLong(DATA_OFFSET, token);
        try {
            LibC.epoll_ctl(fd, op, watchedFd, control);
        } catch (LastErrorException e) {
            throw new ErrnoException(name, e.getErrorCode());
        }
    }

    /** Waits for events; returns how many are ready (0 on timeout or EINTR). Not thread-safe: one waiter. */
    public int await(int timeoutMillis) {
        try {
            return LibC.epoll_wait(fd, events, capacity, timeoutMillis);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EINTR) {
                return 0;
            }
            throw new ErrnoException("epoll_wait", e.getErrorCode());
        }
    }

    public int readyEvents(int index) {
        return events.getInt((long) index * EVENT_SIZE);
    }

    public long readyToken(int index) {
        return events.getLong((long) index * EVENT_SIZE + DATA_OFFSET);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Sys.close(fd);
        }
    }
}
