package dev.mesovirt.vmm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.StringArray;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * Starts a process with an exact set of descriptors, through posix_spawn: the child has 0, 1 and 2 and the
 * descriptors named, at their numbers, and nothing else of this process. ProcessBuilder cannot do that (its child
 * closes every descriptor above 2), and a JVM cannot run code between fork and exec; posix_spawn runs the
 * descriptor actions in the child itself. Also: a new session if asked, an empty signal mask and default signal
 * dispositions (a background job's ignored SIGINT and SIGQUIT are not passed on).
 */
public final class Spawn {
    // <spawn.h>, <sys/wait.h>, <fcntl.h>: the same on x86_64, aarch64 and riscv64
    static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    static final short POSIX_SPAWN_SETSID = 0x80;
    static final int WNOHANG = 1;
    static final int O_APPEND = 0x400;
    static final int ESRCH = 3;
    /** glibc's posix_spawnattr_t is 336 bytes, posix_spawn_file_actions_t 80, sigset_t 128 on LP64: room to spare. */
    private static final int ATTR_SIZE = 512;
    private static final int ACTIONS_SIZE = 256;
    private static final int SIGSET_SIZE = 256;

    private Spawn() {}

    /** The child's standard descriptors. */
    public sealed interface Stdio permits Inherit, Detached {}

    /** The child's 0, 1 and 2 are this process's. */
    public record Inherit() implements Stdio {}

    /** The child's stdin is /dev/null; stdout and stderr are appended to {@code output} (created 0600 if absent). */
    public record Detached(String output) implements Stdio {}

    /**
     * Starts {@code argv[0]} (an absolute path; no PATH search).
     *
     * @param env the child's whole environment
     * @param keep descriptors of this process (above 2) the child gets at the same numbers, close-on-exec or not
     * @param newSession setsid in the child: no controlling terminal, out of the caller's process group
     * @return the child's pid, to {@link #waitFor} or {@link #poll}
     */
    public static int start(List<String> argv, Map<String, String> env, Collection<Integer> keep, Stdio stdio,
            boolean newSession) {
        TreeSet<Integer> kept = new TreeSet<>(keep);
        if (!kept.isEmpty() && kept.first() <= 2) {
            throw new IllegalArgumentException("descriptors to keep must be above 2: " + kept);
        }
        Memory actions = new Memory(ACTIONS_SIZE);
        Memory attributes = new Memory(ATTR_SIZE);
        check("posix_spawn_file_actions_init", LibC.posix_spawn_file_actions_init(actions));
        try {
            check("posix_spawnattr_init", LibC.posix_spawnattr_init(attributes));
            try {
                if (stdio instanceof Detached d) {
                    check("posix_spawn_file_actions_addopen", LibC.posix_spawn_file_actions_addopen(actions, 0,
                            "/dev/null", LibC.O_RDONLY, 0));
                    check("posix_spawn_file_actions_addopen", LibC.posix_spawn_file_actions_addopen(actions, 1,
                            d.output(), LibC.O_WRONLY | LibC.O_CREAT | O_APPEND, 0600));
                    check("posix_spawn_file_actions_adddup2", LibC.posix_spawn_file_actions_adddup2(actions, 1, 2));
                }
                // Close the gaps below the highest kept descriptor one by one (EBADF for a number that is not open
                // is ignored), then everything above it at once. dup2 onto itself clears close-on-exec in the child.
                int next = 3;
                for (int fd : kept) {
                    for (int gap = next; gap < fd; gap++) {
                        check("posix_spawn_file_actions_addclose", LibC.posix_spawn_file_actions_addclose(actions, gap));
                    }
                    check("posix_spawn_file_actions_adddup2", LibC.posix_spawn_file_actions_adddup2(actions, fd, fd));
                    next = fd + 1;
                }
                check("posix_spawn_file_actions_addclosefrom_np",
                        LibC.posix_spawn_file_actions_addclosefrom_np(actions, next));

                Memory none = new Memory(SIGSET_SIZE);
                Memory all = new Memory(SIGSET_SIZE);
                LibC.sigemptyset(none);
                LibC.sigfillset(all);
                check("posix_spawnattr_setsigmask", LibC.posix_spawnattr_setsigmask(attributes, none));
                check("posix_spawnattr_setsigdefault", LibC.posix_spawnattr_setsigdefault(attributes, all));
                short flags = (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                        | (newSession ? POSIX_SPAWN_SETSID : 0));
                check("posix_spawnattr_setflags", LibC.posix_spawnattr_setflags(attributes, flags));

                List<String> environment = new ArrayList<>();
                env.forEach((k, v) -> environment.add(k + "=" + v));
                int[] pid = new int[1];
                int error = LibC.posix_spawn(pid, argv.getFirst(), actions, attributes,
                        new StringArray(argv.toArray(String[]::new)), new StringArray(environment.toArray(String[]::new)));
                if (error != 0) {
                    throw new ErrnoException("posix_spawn(" + argv.getFirst() + ")", error);
                }
                return pid[0];
            } finally {
                LibC.posix_spawnattr_destroy(attributes);
            }
        } catch (LastErrorException e) {
            throw new ErrnoException("sigset", e.getErrorCode());
        } finally {
            LibC.posix_spawn_file_actions_destroy(actions);
        }
    }

    /** Waits for the child to end: its exit code, or 128 + the signal that killed it (as {@link Process} says). */
    public static int waitFor(int pid) {
        int[] status = new int[1];
        while (true) {
            try {
                LibC.waitpid(pid, status, 0);
                return exitCode(status[0]);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LibC.EINTR) {
                    throw new ErrnoException("waitpid(" + pid + ")", e.getErrorCode());
                }
            }
        }
    }

    /** The child's exit code as {@link #waitFor} gives it if it has ended (it is then reaped), else empty. */
    public static OptionalInt poll(int pid) {
        int[] status = new int[1];
        try {
            return LibC.waitpid(pid, status, WNOHANG) == 0 ? OptionalInt.empty() : OptionalInt.of(exitCode(status[0]));
        } catch (LastErrorException e) {
            throw new ErrnoException("waitpid(" + pid + ", WNOHANG)", e.getErrorCode());
        }
    }

    /** Sends the signal; false if the process no longer exists (a zombie still does). */
    public static boolean kill(int pid, int signal) {
        try {
            LibC.kill(pid, signal);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ESRCH) {
                return false;
            }
            throw new ErrnoException("kill(" + pid + ", " + signal + ")", e.getErrorCode());
        }
    }

    /** A pipe, both ends close-on-exec: {read, write}. */
    public static int[] pipe() {
        int[] fds = new int[2];
        try {
            LibC.pipe2(fds, LibC.O_CLOEXEC);
            return fds;
        } catch (LastErrorException e) {
            throw new ErrnoException("pipe2", e.getErrorCode());
        }
    }

    /** A wait status as an exit code: WEXITSTATUS if it exited, 128 + WTERMSIG if a signal killed it. */
    static int exitCode(int status) {
        int signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }

    private static void check(String call, int error) {
        if (error != 0) {
            throw new ErrnoException(call, error);
        }
    }
}
