package dev.mesovirt.cli.seccomp;

import com.sun.jna.LastErrorException;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.seccomp.Seccomp;
import dev.mesovirt.vmm.seccomp.SeccompFilter;
import dev.mesovirt.vmm.sys.LibC;
import java.util.concurrent.CountDownLatch;

/**
 * The child JVM of {@link SeccompProcessTest}: installs the VMM's filter for this host (KILL) and then does one thing,
 * named by its argument, printing each step first:
 * <ul>
 *   <li>{@code before}: execve from a thread that already existed when the filter went in (TSYNC);</li>
 *   <li>{@code after}: execve from a thread started after it (inherited);</li>
 *   <li>{@code main}: execve from the installing thread;</li>
 *   <li>{@code fork}: clone without CLONE_THREAD (a new process), through ProcessBuilder;</li>
 *   <li>{@code allowed}: what must keep working: a new thread, socket(AF_UNIX), and socket(AF_INET) failing with
 *       EAFNOSUPPORT; then says "ready" and waits on stdin while the parent reads each thread's Seccomp mode from
 *       /proc, and exits 0.</li>
 * </ul>
 */
public final class SeccompProbe {
    private SeccompProbe() {}

    public static void main(String[] args) throws Exception {
        String what = args[0];
        CountDownLatch go = new CountDownLatch(1);
        Thread early = new Thread(() -> {
            await(go);
            forbidden("early thread");
        }, "probe-early");
        early.setDaemon(true);
        if (what.equals("before")) {
            early.start();
        }
        SeccompFilter filter = SeccompFilter.vmm(Architectures.host().seccompTable().orElseThrow());
        Seccomp.install(filter, SeccompFilter.Mode.KILL);
        say("installed " + filter.allowedCount());
        switch (what) {
            case "before" -> {
                go.countDown();
                early.join();
            }
            case "after" -> {
                Thread late = new Thread(() -> forbidden("late thread"), "probe-late");
                late.start();
                late.join();
            }
            case "main" -> forbidden("main thread");
            case "fork" -> {
                say("fork");
                new ProcessBuilder("true").start().waitFor();
            }
            case "allowed" -> allowed();
            default -> throw new IllegalArgumentException(what);
        }
        say("still alive");
        System.exit(what.equals("allowed") ? 0 : 1);
    }

    private static void allowed() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        Thread late = new Thread(() -> {
            done.countDown();
            await(new CountDownLatch(1)); // stays alive for the parent to look at
        }, "probe-late");
        late.setDaemon(true);
        late.start();
        done.await();
        int unix = LibC.socket(1, 1 | 0x80000, 0); // AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC
        LibC.close(unix);
        say("socket(AF_UNIX) ok");
        try {
            LibC.socket(2, 1, 0); // AF_INET
            say("socket(AF_INET) succeeded");
        } catch (LastErrorException e) {
            say("socket(AF_INET) errno " + e.getErrorCode());
        }
        // The parent reads every thread's /proc status now (listing a directory is no VMM call); a line on stdin
        // (or its end) lets this process finish.
        say("ready");
        System.in.read();
    }

    private static void forbidden(String who) {
        say("execve from " + who);
        // execve(NULL, NULL, NULL) would fail with EFAULT if it ran: the filter must stop it first.
        long nr = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 59;
            case "aarch64", "riscv64" -> 221;
            default -> throw new IllegalStateException("execve number for " + System.getProperty("os.arch"));
        };
        try {
            LibC.syscall(nr, 0, 0, null);
            say("execve returned");
        } catch (LastErrorException e) {
            say("execve errno " + e.getErrorCode());
        }
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void say(String s) {
        System.out.println(s);
        System.out.flush();
    }
}
