package dev.mesovirt.cli.jailer;

import dev.mesovirt.cli.jailer.JailPlan.Bind;
import java.nio.file.Path;
import java.util.List;

/**
 * The single-threaded stage between the jailer's JVM and the VMM's, as a POSIX shell script over util-linux tools.
 *
 * <p>Why a separate stage: a JVM is multi-threaded from its first instruction, and the kernel refuses
 * unshare(CLONE_NEWNS) and setns into a mount namespace to a multi-threaded process (its threads share one fs_struct),
 * so it cannot pivot_root in a namespace of its own; no_new_privs and the capability sets are per thread, so setting
 * them on one thread would leave the JVM's others as they were. So the namespaces, the mounts,
 * pivot_root and the privilege drop are done by a process that is still single-threaded and then execs the JVM:
 * util-linux's {@code nsenter} (network namespace), {@code unshare} (mount, PID, IPC, UTS; it forks so that the VMM
 * is PID 1 of the new PID namespace, and kills it if the jailer goes), {@code mount}, {@code pivot_root},
 * {@code umount} and {@code setpriv} (uid/gid, no groups, no capabilities in any set, no_new_privs).
 *
 * <p>Run as {@code sh SCRIPT outer}: joins the VM's cgroup (so that everything after it is counted), sets the
 * resource limits ({@code prlimit}: they are inherited down to the VMM's JVM), enters the network namespace and
 * unshares the others, and runs itself again as {@code inner} in them.
 */
public final class StageScript {
    private StageScript() {}

    /**
     * @param plan the jail
     * @param script where the script will be (it re-runs itself)
     * @param umount the host's umount, run from the old root once right after pivot_root
     */
    public static String render(JailPlan plan, Path script, Path umount) {
        StringBuilder s = new StringBuilder();
        s.append("#!/bin/sh\n");
        s.append("# The jail of VM ").append(plan.id()).append(", written by mesovirt-jailer (see StageScript).\n");
        s.append("set -e\n");
        s.append("if [ \"$1\" = outer ]; then\n");
        plan.cgroup().ifPresent(c -> s.append("  echo 0 > ").append(q(c.dir().resolve("cgroup.procs"))).append('\n'));
        s.append("  exec prlimit");
        for (JailPlan.Rlimit r : plan.rlimits()) {
            s.append(" --").append(r.resource()).append('=').append(r.value()).append(':').append(r.value());
        }
        s.append(" -- ");
        plan.netns().ifPresent(n -> s.append("nsenter --net=").append(q(n)).append(" -- "));
        s.append("unshare --mount --pid --ipc --uts --fork --kill-child --propagation private -- /bin/sh ")
                .append(q(script)).append(" inner\n");
        s.append("fi\n");
        s.append("echo ").append(q(plan.id())).append(" > /proc/sys/kernel/hostname\n");
        s.append("R=").append(q(plan.root())).append('\n');
        // pivot_root needs the new root to be a mount point.
        s.append("mount --bind \"$R\" \"$R\"\n");
        for (Bind b : plan.binds()) {
            String flags = (b.readOnly() ? "ro," : "") + (b.directory() ? "nosuid,nodev" : "nosuid");
            s.append("mount --bind -o ").append(flags).append(' ').append(q(b.source())).append(" \"$R\"")
                    .append(q(b.target())).append('\n');
        }
        // A proc of the new PID namespace: the JVM reads /proc/self; it shows only the jail's processes.
        s.append("mount -t proc -o nosuid,nodev,noexec proc \"$R/proc\"\n");
        s.append("cd \"$R\"\n");
        s.append("pivot_root . ").append(q(JailPlan.OLD_ROOT.substring(1))).append('\n');
        s.append("cd /\n");
        // The old root's umount, with the old root's libraries: the jail holds only what the VMM needs. Its empty
        // mount point stays (no rmdir in the jail).
        s.append("LD_LIBRARY_PATH=").append(q(plan.umountLibraryPath())).append(' ')
                .append(q(JailPlan.OLD_ROOT + umount)).append(" -l ").append(q(JailPlan.OLD_ROOT)).append('\n');
        s.append("exec");
        for (String arg : plan.command()) {
            s.append(' ').append(q(arg));
        }
        s.append('\n');
        return s.toString();
    }

    /** Single-quoted for sh. */
    static String q(Object text) {
        return "'" + text.toString().replace("'", "'\\''") + "'";
    }

    /** For tests and messages: the lines of a rendered script. */
    static List<String> lines(String script) {
        return List.of(script.split("\n"));
    }
}
