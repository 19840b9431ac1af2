package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeoutException;

/**
 * A UNIX-domain stream socket on a native descriptor, for what java.nio cannot do: receiving and sending file
 * descriptors (SCM_RIGHTS). Blocking calls wait in poll(2) on the socket and on a wake-up eventfd, so
 * {@link #close()} from any thread ends them at once; the descriptor itself is closed only when the last call in
 * progress has left, so no thread ever reads or writes a descriptor number that was closed and reused meanwhile.
 *
 * <p>The structures are written as explicit byte layouts, the same on every LP64 Linux (x86_64, arm64, riscv64):
 * {@code struct msghdr} 56 bytes, {@code struct iovec} 16, {@code struct cmsghdr} a 16-byte header aligned to 8,
 * {@code struct sockaddr_un} 110, {@code struct pollfd} 8.
 *
 * <p>One thread at a time may {@link #receive}, and one at a time may {@link #send}.
 */
public final class UnixSocket implements AutoCloseable {
    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_NONBLOCK = LibC.O_NONBLOCK;
    static final int SOCK_CLOEXEC = LibC.O_CLOEXEC;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int ECONNABORTED = 103;
    static final int SHUT_WR = 1;

    static final int SOCKADDR_UN_SIZE = 110;
    static final int SUN_PATH_OFFSET = 2;
    static final int SUN_PATH_SIZE = 108;

    static final int MSGHDR_SIZE = 56;
    static final int MSG_NAME = 0;
    static final int MSG_NAMELEN = 8;
    static final int MSG_IOV = 16;
    static final int MSG_IOVLEN = 24;
    static final int MSG_CONTROL = 32;
    static final int MSG_CONTROLLEN = 40;
    static final int MSG_FLAGS = 48;
    static final int IOVEC_SIZE = 16;
    static final int CMSGHDR_SIZE = 16;
    static final int CMSG_LEVEL = 8;
    static final int CMSG_TYPE = 12;

    static final int POLLFD_SIZE = 8;
    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;

    /** Descriptors taken from one message, as QEMU's TCP_MAX_FDS; the kernel closes any beyond (MSG_CTRUNC). */
    public static final int MAX_FDS = 16;
    /** The most one sendmsg may carry (SCM_MAX_FD). */
    public static final int MAX_SEND_FDS = 253;
    private static final int CONTROL_SIZE = cmsgSpace(MAX_FDS * 4);
    /** The deadline of calls that wait as long as it takes. */
    private static final long NO_DEADLINE = Long.MIN_VALUE;

    /**
     * What one {@link #receive} got.
     *
     * @param length       bytes received, 0 at the end of the stream, -1 when the socket was closed by us
     * @param fds          descriptors that came with them (close-on-exec), now the caller's to close
     * @param fdsTruncated more descriptors were sent than {@link #MAX_FDS}: the kernel closed the rest
     */
    public record Received(int length, int[] fds, boolean fdsTruncated) {
        static final Received CLOSED = new Received(-1, new int[0], false);

        public boolean closed() {
            return length < 0;
        }
    }

    private final int fd;
    private final EventFd wake;
    private final Object lock = new Object();
    private int users;
    private volatile boolean closed;
    private boolean released;

    private UnixSocket(int fd) {
        this.fd = fd;
        try {
            this.wake = new EventFd(true);
        } catch (RuntimeException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
    }

    /** Binds a listening socket to {@code path}, which must not exist. */
    public static UnixSocket listen(Path path, int backlog) {
        return listen(path, backlog, -1);
    }

    /**
     * As {@link #listen(Path, int)}, the socket file created with at most the permission bits {@code mode} (the
     * umask still applies): Linux gives the file the mode of the socket's inode, which fchmod sets before bind, so
     * there is no moment when the file exists with wider permissions (a chmod after bind leaves one). -1: as the
     * umask says.
     */
    public static UnixSocket listen(Path path, int backlog, int mode) {
        byte[] name = pathBytes(path);
        int fd = socket(SOCK_NONBLOCK); // accept() waits in poll, never in accept4
        try (Memory address = sockaddr(name)) {
            if (mode >= 0) {
                LibC.fchmod(fd, mode);
            }
            LibC.bind(fd, address, SUN_PATH_OFFSET + name.length + 1);
            LibC.listen(fd, backlog);
        } catch (LastErrorException e) {
            Fds.closeQuietly(fd);
            throw new ErrnoException("bind/listen(" + path + ")", e.getErrorCode());
        }
        return new UnixSocket(fd);
    }

    /** Connects to the socket at {@code path}. */
    public static UnixSocket connect(Path path) {
        byte[] name = pathBytes(path);
        int fd = socket(0);
        try (Memory address = sockaddr(name)) {
            LibC.connect(fd, address, SUN_PATH_OFFSET + name.length + 1);
        } catch (LastErrorException e) {
            Fds.closeQuietly(fd);
            throw new ErrnoException("connect(" + path + ")", e.getErrorCode());
        }
        return new UnixSocket(fd);
    }

    /** Two connected sockets (socketpair(2)): one end for a child process or a thread, the other for us. */
    public static UnixSocket[] pair() {
        int[] fds = new int[2];
        try {
            LibC.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
        } catch (LastErrorException e) {
            throw new ErrnoException("socketpair(AF_UNIX)", e.getErrorCode());
        }
        UnixSocket first;
        try {
            first = new UnixSocket(fds[0]);
        } catch (RuntimeException e) {
            Fds.closeQuietly(fds[1]);
            throw e;
        }
        try {
            return new UnixSocket[] {first, new UnixSocket(fds[1])};
        } catch (RuntimeException e) {
            first.close();
            throw e;
        }
    }

    /** Waits for a client; null once this socket is closed. */
    public UnixSocket accept() {
        try {
            return accept(NO_DEADLINE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline, yet timed out", e);
        }
    }

    /** As {@link #accept()}, but gives up when no client has come within {@code timeout}. */
    public UnixSocket accept(Duration timeout) throws TimeoutException {
        return accept(deadline(timeout));
    }

    private UnixSocket accept(long deadline) throws TimeoutException {
        if (!enter()) {
            return null;
        }
        try {
            while (true) {
                if (!await(POLLIN, deadline)) {
                    return null;
                }
                int client;
                try {
                    client = LibC.accept4(fd, null, null, SOCK_CLOEXEC);
                } catch (LastErrorException e) {
                    int errno = e.getErrorCode();
                    if (errno == LibC.EAGAIN || errno == LibC.EINTR || errno == ECONNABORTED) {
                        continue;
                    }
                    throw new ErrnoException("accept4", errno);
                }
                return new UnixSocket(client);
            }
        } finally {
            leave();
        }
    }

    /**
     * Waits for data and reads up to {@code buffer.length} bytes with the descriptors sent along. Linux ends a read
     * with the send that carried descriptors: bytes sent before it may come in the same read, later ones never, so
     * the descriptors came with the last bytes read (or with bytes still to come if the buffer was too small).
     */
    public Received receive(byte[] buffer) {
        try {
            return receive(buffer, NO_DEADLINE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline, yet timed out", e);
        }
    }

    /**
     * As {@link #receive(byte[])}, but gives up when nothing has come within {@code timeout}: a peer that does not
     * answer must not hold the caller forever.
     */
    public Received receive(byte[] buffer, Duration timeout) throws TimeoutException {
        return receive(buffer, deadline(timeout));
    }

    private Received receive(byte[] buffer, long deadline) throws TimeoutException {
        if (buffer.length == 0) {
            throw new IllegalArgumentException("empty receive buffer");
        }
        if (!enter()) {
            return Received.CLOSED;
        }
        try (Memory data = new Memory(buffer.length);
                Memory message = new Memory(MSGHDR_SIZE + IOVEC_SIZE + CONTROL_SIZE)) {
            while (true) {
                if (!await(POLLIN, deadline)) {
                    return Received.CLOSED;
                }
                message.clear();
                Pointer iov = message.share(MSGHDR_SIZE);
                Pointer control = message.share(MSGHDR_SIZE + IOVEC_SIZE);
                iov.setPointer(0, data);
                iov.setLong(8, buffer.length);
                message.setPointer(MSG_IOV, iov);
                message.setLong(MSG_IOVLEN, 1);
                message.setPointer(MSG_CONTROL, control);
                message.setLong(MSG_CONTROLLEN, CONTROL_SIZE);
                long n;
                try {
                    n = LibC.recvmsg(fd, message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EAGAIN || e.getErrorCode() == LibC.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("recvmsg", e.getErrorCode());
                }
                int[] fds = readRights(control, message.getLong(MSG_CONTROLLEN));
                data.read(0, buffer, 0, (int) n);
                return new Received((int) n, fds, (message.getInt(MSG_FLAGS) & MSG_CTRUNC) != 0);
            }
        } finally {
            leave();
        }
    }

    /** Sends all of {@code data}; false if this socket was closed before it all went. */
    public boolean send(byte[] data) {
        return send(data, new int[0]);
    }

    /**
     * Sends all of {@code data}, with {@code fds} (copies: the caller keeps its own) on its first bytes; false if
     * this socket was closed before it all went. Descriptors need at least one byte to travel with.
     */
    public boolean send(byte[] data, int[] fds) {
        try {
            return send(data, fds, NO_DEADLINE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline, yet timed out", e);
        }
    }

    /**
     * As {@link #send(byte[], int[])}, but gives up when the peer has not taken all of {@code data} within
     * {@code timeout} (a peer that stops reading fills the socket's buffer); part of it may have gone.
     */
    public boolean send(byte[] data, int[] fds, Duration timeout) throws TimeoutException {
        return send(data, fds, deadline(timeout));
    }

    private boolean send(byte[] data, int[] fds, long deadline) throws TimeoutException {
        if (fds.length > MAX_SEND_FDS || fds.length > 0 && data.length == 0) {
            throw new IllegalArgumentException(fds.length + " descriptors with " + data.length + " bytes");
        }
        if (data.length == 0) {
            return true;
        }
        if (!enter()) {
            return false;
        }
        try (Memory buffer = new Memory(data.length);
                Memory message = new Memory(MSGHDR_SIZE + IOVEC_SIZE + cmsgSpace(fds.length * 4))) {
            buffer.write(0, data, 0, data.length);
            long sent = 0;
            while (sent < data.length) {
                if (!await(POLLOUT, deadline)) {
                    return false;
                }
                message.clear();
                Pointer iov = message.share(MSGHDR_SIZE);
                iov.setPointer(0, buffer.share(sent));
                iov.setLong(8, data.length - sent);
                message.setPointer(MSG_IOV, iov);
                message.setLong(MSG_IOVLEN, 1);
                if (sent == 0 && fds.length > 0) {
                    Pointer control = message.share(MSGHDR_SIZE + IOVEC_SIZE);
                    message.setPointer(MSG_CONTROL, control);
                    message.setLong(MSG_CONTROLLEN, writeRights(control, fds));
                }
                try {
                    sent += LibC.sendmsg(fd, message, MSG_DONTWAIT | MSG_NOSIGNAL);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EAGAIN || e.getErrorCode() == LibC.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("sendmsg", e.getErrorCode());
                }
            }
            return true;
        } finally {
            leave();
        }
    }

    /**
     * Ends this side's stream (shutdown(2), SHUT_WR): the peer reads what was sent, then the end of the stream, and
     * can still send to this socket. Nothing once closed.
     */
    public void shutdownOutput() {
        if (!enter()) {
            return;
        }
        try {
            LibC.shutdown(fd, SHUT_WR);
        } catch (LastErrorException e) {
            throw new ErrnoException("shutdown", e.getErrorCode());
        } finally {
            leave();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Ends any call waiting on this socket (it returns null, CLOSED or false) and closes the descriptor once no
     * call is using it. Safe from any thread, idempotent, never blocks.
     */
    @Override
    public void close() {
        boolean release;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            release = users == 0 && !released;
            released |= release;
        }
        wake.signal(); // a waiter sees it in poll and leaves; the last one out releases
        if (release) {
            release();
        }
    }

    private boolean enter() {
        synchronized (lock) {
            if (closed) {
                return false;
            }
            users++;
            return true;
        }
    }

    private void leave() {
        boolean release;
        synchronized (lock) {
            users--;
            release = closed && users == 0 && !released;
            released |= release;
        }
        if (release) {
            release();
        }
    }

    private void release() {
        Fds.closeQuietly(fd);
        wake.close();
    }

    /** A System.nanoTime() deadline {@code timeout} from now. */
    private static long deadline(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout " + timeout);
        }
        long nanos = timeout.compareTo(Duration.ofDays(365)) > 0 ? Duration.ofDays(365).toNanos() : timeout.toNanos();
        return System.nanoTime() + nanos;
    }

    /**
     * Waits until the socket is ready for {@code events} (or has an error or hang-up); false once closed; a
     * TimeoutException once System.nanoTime() passes {@code deadline} ({@link #NO_DEADLINE}: never).
     */
    private boolean await(short events, long deadline) throws TimeoutException {
        try (Memory poll = new Memory(2L * POLLFD_SIZE)) {
            poll.setInt(0, fd);
            poll.setShort(4, events);
            poll.setInt(POLLFD_SIZE, wake.fd());
            poll.setShort(POLLFD_SIZE + 4, POLLIN);
            while (!closed) {
                poll.setShort(6, (short) 0);
                poll.setShort(POLLFD_SIZE + 6, (short) 0);
                int wait = -1;
                if (deadline != NO_DEADLINE) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TimeoutException("no reply within the time limit");
                    }
                    wait = (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                }
                try {
                    LibC.poll(poll, 2, wait);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("poll", e.getErrorCode());
                }
                if (poll.getShort(POLLFD_SIZE + 6) != 0) {
                    return false; // never consumed: every later wait returns at once too
                }
                if (poll.getShort(6) != 0) {
                    return true; // ready, or POLLHUP/POLLERR that the call itself will report
                }
            }
            return false;
        }
    }

    private static int socket(int flags) {
        try {
            return LibC.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
        } catch (LastErrorException e) {
            throw new ErrnoException("socket(AF_UNIX)", e.getErrorCode());
        }
    }

    private static byte[] pathBytes(Path path) {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length >= SUN_PATH_SIZE) {
            throw new IllegalArgumentException("a UNIX socket path has 1 to " + (SUN_PATH_SIZE - 1) + " bytes: "
                    + path);
        }
        return name;
    }

    /** {@code struct sockaddr_un}: sa_family_t (u16) AF_UNIX, then the NUL-terminated path. */
    static Memory sockaddr(byte[] name) {
        Memory address = new Memory(SOCKADDR_UN_SIZE);
        address.clear();
        address.setShort(0, (short) AF_UNIX);
        address.write(SUN_PATH_OFFSET, name, 0, name.length);
        return address;
    }

    /** CMSG_ALIGN: control messages are aligned to sizeof(long). */
    static int cmsgAlign(long length) {
        return (int) ((length + 7) & ~7L);
    }

    /** CMSG_LEN: header plus {@code dataLength} bytes, the value of cmsg_len. */
    static int cmsgLen(int dataLength) {
        return CMSGHDR_SIZE + dataLength;
    }

    /** CMSG_SPACE: the room one control message with {@code dataLength} bytes takes. */
    static int cmsgSpace(int dataLength) {
        return CMSGHDR_SIZE + cmsgAlign(dataLength);
    }

    /** Writes one SCM_RIGHTS control message; returns msg_controllen. */
    static int writeRights(Pointer control, int[] fds) {
        int space = cmsgSpace(fds.length * 4);
        control.setMemory(0, space, (byte) 0);
        control.setLong(0, cmsgLen(fds.length * 4));
        control.setInt(CMSG_LEVEL, SOL_SOCKET);
        control.setInt(CMSG_TYPE, SCM_RIGHTS);
        for (int i = 0; i < fds.length; i++) {
            control.setInt(CMSGHDR_SIZE + 4L * i, fds[i]);
        }
        return space;
    }

    /** The descriptors of every SCM_RIGHTS message among {@code length} bytes of control messages. */
    static int[] readRights(Pointer control, long length) {
        int[] fds = new int[0];
        long offset = 0;
        while (offset + CMSGHDR_SIZE <= length) {
            long cmsgLen = control.getLong(offset);
            if (cmsgLen < CMSGHDR_SIZE || offset + cmsgLen > length) {
                break;
            }
            if (control.getInt(offset + CMSG_LEVEL) == SOL_SOCKET && control.getInt(offset + CMSG_TYPE) == SCM_RIGHTS) {
                int n = (int) ((cmsgLen - CMSGHDR_SIZE) / 4);
                int at = fds.length;
                fds = Arrays.copyOf(fds, at + n);
                for (int i = 0; i < n; i++) {
                    fds[at + i] = control.getInt(offset + CMSGHDR_SIZE + 4L * i);
                }
            }
            offset += cmsgAlign(cmsgLen);
        }
        return fds;
    }
}
