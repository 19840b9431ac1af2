package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The libc calls a VMM needs, declared once. JNA direct mapping is used because it is the cheapest JNA call path
 * (no proxy, no per-call reflection), which matters on the vCPU exit path. Every call reports failure through
 * {@link LastErrorException}; callers go through {@link Sys}, which turns errno into an {@link ErrnoException}
 * that names the call.
 */
public final class LibC {
    static final NativeLibrary LIBRARY = NativeLibrary.getInstance(Platform.C_LIBRARY_NAME);

    static {
        Native.register(LibC.class, LIBRARY);
    }

    private LibC() {}

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_DONTDUMP = 16;

    public static final int EFD_NONBLOCK = O_NONBLOCK;
    public static final int EFD_CLOEXEC = O_CLOEXEC;

    public static final int EINTR = 4;
    public static final int EAGAIN = 11;

    // memfd-backed guest RAM that a vhost-user back-end maps too (GuestMemory.allocateShared)
    public static final int MFD_CLOEXEC = 1;
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    public static final int FALLOC_FL_PUNCH_HOLE = 2;

    public static native int open(String path, int flags, int mode) throws LastErrorException;

    public static native int close(int fd) throws LastErrorException;

    public static native long read(int fd, Pointer buffer, long count) throws LastErrorException;

    /** Positional vectored I/O: {@code iov} is an array of {@code count} struct iovec (base, length: 16 bytes). */
    public static native long preadv(int fd, Pointer iov, int count, long offset) throws LastErrorException;

    public static native long pwritev(int fd, Pointer iov, int count, long offset) throws LastErrorException;

    /** The calling thread's kernel thread ID (glibc 2.30+), what QMP reports as a vCPU's thread-id. */
    public static native int gettid();

    public static native long write(int fd, Pointer buffer, long count) throws LastErrorException;

    public static native int ioctl(int fd, long request, Pointer argument) throws LastErrorException;

    public static native int ioctl(int fd, long request, long argument) throws LastErrorException;

    public static native Pointer mmap(Pointer address, long length, int protection, int flags, int fd, long offset)
            throws LastErrorException;

    public static native int munmap(Pointer address, long length) throws LastErrorException;

    public static native int madvise(Pointer address, long length, int advice) throws LastErrorException;

    public static native int eventfd(int initialValue, int flags) throws LastErrorException;

    public static native int epoll_create1(int flags) throws LastErrorException;

    public static native int epoll_ctl(int epollFd, int op, int fd, Pointer event) throws LastErrorException;

    public static native int epoll_wait(int epollFd, Pointer events, int maxEvents, int timeoutMillis)
            throws LastErrorException;

    public static native int isatty(int fd);

    public static native int tcgetattr(int fd, Pointer termios) throws LastErrorException;

    public static native int tcsetattr(int fd, int optionalActions, Pointer termios) throws LastErrorException;

    public static native void cfmakeraw(Pointer termios);

    public static native long pthread_self();

    public static native int pthread_kill(long thread, int signal);

    public static native Pointer signal(int signal, Pointer handler) throws LastErrorException;

    public static native int __libc_current_sigrtmin();

    public static native int getpid();

    public static native String strerror(int errno);

    // UNIX-domain sockets with descriptor passing (UnixSocket): java.nio cannot send or receive SCM_RIGHTS.
    public static native int socket(int domain, int type, int protocol) throws LastErrorException;

    public static native int bind(int fd, Pointer address, int addressLength) throws LastErrorException;

    public static native int fchmod(int fd, int mode) throws LastErrorException;

    public static native int listen(int fd, int backlog) throws LastErrorException;

    public static native int accept4(int fd, Pointer address, Pointer addressLength, int flags)
            throws LastErrorException;

    public static native int connect(int fd, Pointer address, int addressLength) throws LastErrorException;

    public static native long recvmsg(int fd, Pointer message, int flags) throws LastErrorException;

    public static native long sendmsg(int fd, Pointer message, int flags) throws LastErrorException;

    public static native int poll(Pointer fds, long count, int timeoutMillis) throws LastErrorException;

    public static native int socketpair(int domain, int type, int protocol, int[] fds) throws LastErrorException;

    public static native int shutdown(int fd, int how) throws LastErrorException;

    public static native int memfd_create(String name, int flags) throws LastErrorException;

    public static native int ftruncate(int fd, long length) throws LastErrorException;

    public static native int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    /** prctl(2) (variadic in C; every option the VMM uses takes unsigned long arguments). */
    public static native int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException;

    /** syscall(2) with three arguments, for calls glibc has no wrapper for (seccomp). */
    public static native long syscall(long number, long arg1, long arg2, Pointer arg3) throws LastErrorException;

    /** fcntl(2) with an int argument (F_GETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC). */
    public static native int fcntl(int fd, int command, int argument) throws LastErrorException;

    // Starting a process with an exact set of descriptors (Spawn): ProcessBuilder closes every one above 2. The
    // posix_spawn family returns an error number instead of setting errno.
    public static native int posix_spawn(int[] pid, String path, Pointer fileActions, Pointer attributes,
            Pointer argv, Pointer envp);

    public static native int posix_spawn_file_actions_init(Pointer fileActions);

    public static native int posix_spawn_file_actions_destroy(Pointer fileActions);

    public static native int posix_spawn_file_actions_addopen(Pointer fileActions, int fd, String path, int flags,
            int mode);

    public static native int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newFd);

    public static native int posix_spawn_file_actions_addclose(Pointer fileActions, int fd);

    /** glibc 2.34+: closes every descriptor from {@code lowFd} up in the child. */
    public static native int posix_spawn_file_actions_addclosefrom_np(Pointer fileActions, int lowFd);

    public static native int posix_spawnattr_init(Pointer attributes);

    public static native int posix_spawnattr_destroy(Pointer attributes);

    public static native int posix_spawnattr_setflags(Pointer attributes, short flags);

    public static native int posix_spawnattr_setsigmask(Pointer attributes, Pointer mask);

    public static native int posix_spawnattr_setsigdefault(Pointer attributes, Pointer signals);

    public static native int sigemptyset(Pointer set) throws LastErrorException;

    public static native int sigfillset(Pointer set) throws LastErrorException;

    public static native int waitpid(int pid, int[] status, int options) throws LastErrorException;

    public static native int kill(int pid, int signal) throws LastErrorException;

    public static native int pipe2(int[] fds, int flags) throws LastErrorException;
}
