package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;

/** Plain file descriptor operations over {@link LibC#fcntl}, checked like {@link Sys}. */
public final class Fds {
    static final int F_DUPFD_CLOEXEC = 1030;
    static final int F_GETFD = 1;
    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int FD_CLOEXEC = 1;
    static final int EBADF = 9;

    private Fds() {}

    /** A new descriptor (close-on-exec) for the same open file: both must be closed. */
    public static int duplicate(int fd) {
        try {
            return LibC.fcntl(fd, F_DUPFD_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new ErrnoException("fcntl(F_DUPFD_CLOEXEC)", e.getErrorCode());
        }
    }

    /** Whether {@code fd} is open in this process (F_GETFD does not fail with EBADF). */
    public static boolean isOpen(int fd) {
        try {
            LibC.fcntl(fd, F_GETFD, 0);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EBADF) {
                return false;
            }
            throw new ErrnoException("fcntl(F_GETFD)", e.getErrorCode());
        }
    }

    /** Whether {@code fd} is close-on-exec. */
    public static boolean isCloseOnExec(int fd) {
        try {
            return (LibC.fcntl(fd, F_GETFD, 0) & FD_CLOEXEC) != 0;
        } catch (LastErrorException e) {
            throw new ErrnoException("fcntl(F_GETFD)", e.getErrorCode());
        }
    }

    /** Whether the open file has O_NONBLOCK set. */
    public static boolean isNonBlocking(int fd) {
        try {
            return (LibC.fcntl(fd, F_GETFL, 0) & LibC.O_NONBLOCK) != 0;
        } catch (LastErrorException e) {
            throw new ErrnoException("fcntl(F_GETFL)", e.getErrorCode());
        }
    }

    /** Clears O_NONBLOCK, which a descriptor passed over a socket keeps from its sender. */
    public static void setBlocking(int fd) {
        try {
            int flags = LibC.fcntl(fd, F_GETFL, 0);
            if ((flags & LibC.O_NONBLOCK) != 0) {
                LibC.fcntl(fd, F_SETFL, flags & ~LibC.O_NONBLOCK);
            }
        } catch (LastErrorException e) {
            throw new ErrnoException("fcntl(F_SETFL)", e.getErrorCode());
        }
    }

    /** Closes {@code fd}, ignoring errors: for descriptors being dropped on a path that is failing already. */
    public static void closeQuietly(int fd) {
        if (fd < 0) {
            return;
        }
        try {
            LibC.close(fd);
        } catch (LastErrorException e) {
            // close(2) releases the descriptor even when it reports an error (Linux): nothing to retry
        }
    }
}
