package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;

/** Checked wrappers over {@link LibC}: errno becomes an {@link ErrnoException} naming the call. */
public final class Sys {
    private Sys() {}

    /** The calling thread's kernel thread ID. */
    public static int gettid() {
        return LibC.gettid();
    }

    public static int open(String path, int flags) {
        try {
            return LibC.open(path, flags | LibC.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new ErrnoException("open(" + path + ")", e.getErrorCode());
        }
    }

    public static void close(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException e) {
            throw new ErrnoException("close", e.getErrorCode());
        }
    }

    public static int ioctl(int fd, long request, Pointer argument, String name) {
        try {
            return LibC.ioctl(fd, request, argument);
        } catch (LastErrorException e) {
            throw new ErrnoException(name, e.getErrorCode());
        }
    }

    public static int ioctl(int fd, long request, long argument, String name) {
        try {
            return LibC.ioctl(fd, request, argument);
        } catch (LastErrorException e) {
            throw new ErrnoException(name, e.getErrorCode());
        }
    }

    public static Pointer mmap(long length, int protection, int flags, int fd, long offset, String what) {
        try {
            Pointer p = LibC.mmap(null, length, protection, flags, fd, offset);
            if (Pointer.nativeValue(p) == -1L) {
                throw new ErrnoException("mmap(" + what + ")", com.sun.jna.Native.getLastError());
            }
            return p;
        } catch (LastErrorException e) {
            throw new ErrnoException("mmap(" + what + ")", e.getErrorCode());
        }
    }

    public static void munmap(Pointer address, long length) {
        try {
            LibC.munmap(address, length);
        } catch (LastErrorException e) {
            throw new ErrnoException("munmap", e.getErrorCode());
        }
    }

    /** Reads up to {@code count} bytes; returns -1 on EAGAIN (non-blocking descriptors). */
    public static long read(int fd, Pointer buffer, long count, String what) {
        while (true) {
            try {
                return LibC.read(fd, buffer, count);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) {
                    continue;
                }
                if (e.getErrorCode() == LibC.EAGAIN) {
                    return -1;
                }
                throw new ErrnoException("read(" + what + ")", e.getErrorCode());
            }
        }
    }

    /** Writes up to {@code count} bytes; returns -1 on EAGAIN (non-blocking descriptors). */
    public static long write(int fd, Pointer buffer, long count, String what) {
        while (true) {
            try {
                return LibC.write(fd, buffer, count);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EINTR) {
                    continue;
                }
                if (e.getErrorCode() == LibC.EAGAIN) {
                    return -1;
                }
                throw new ErrnoException("write(" + what + ")", e.getErrorCode());
            }
        }
    }

    /** preadv(2), restarted after EINTR; returns the bytes read (fewer at end of file). */
    public static long preadv(int fd, Pointer iov, int count, long offset, String what) {
        while (true) {
            try {
                return LibC.preadv(fd, iov, count, offset);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LibC.EINTR) {
                    throw new ErrnoException("preadv(" + what + ")", e.getErrorCode());
                }
            }
        }
    }

    /** pwritev(2), restarted after EINTR; returns the bytes written. */
    public static long pwritev(int fd, Pointer iov, int count, long offset, String what) {
        while (true) {
            try {
                return LibC.pwritev(fd, iov, count, offset);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LibC.EINTR) {
                    throw new ErrnoException("pwritev(" + what + ")", e.getErrorCode());
                }
            }
        }
    }
}
