package dev.mesovirt.cli.jailer;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What the jailer will do, as plain data: computed by {@link JailPlanner} without touching the system, carried out
 * by {@link Jailer} (outside the jail) and by the stage script {@link StageScript} renders (inside the new
 * namespaces). Paths called "in the jail" are absolute paths as the VMM sees them after pivot_root.
 *
 * @param id the VM's id
 * @param uid the VMM's user
 * @param gid the VMM's group
 * @param jailDir {@code <chroot base>/mesovirt/<id>}: removed as a whole on exit
 * @param root {@code jailDir/root}, the VMM's root after pivot_root
 * @param dirs directories to create in the jail (root-owned, 0755), parents first
 * @param ownedDirs directories in the jail owned by the VMM's user (0700): where its sockets and files go
 * @param nodes device nodes to create in the jail
 * @param binds bind mounts into the jail, made in the new mount namespace; their targets are created empty first
 * @param outputs host files the VMM writes (logs, serial output), created if absent and owned by the VMM's user
 *        before they are bound in, so that they outlive the jail
 * @param links symbolic links outside the jail, at the host paths the user gave for sockets the VMM creates
 * @param cgroup the VM's cgroup, if any limit was given
 * @param netns the network namespace to join
 * @param rlimits the VMM's resource limits (soft = hard), set in the stage before the namespaces, so that the VMM's
 *        JVM starts under them and, without capabilities, cannot raise them
 * @param descriptors the jailer's descriptors the options name ({@code fds=}, {@code fd=}, {@code vhostfd=}): they
 *        stay open, at their numbers, through the stage into the VMM; every other one is closed
 * @param umountLibraryPath LD_LIBRARY_PATH under which the host's umount runs from the old root just after
 *        pivot_root (its libraries are not in the jail)
 * @param command the last stage's argv in the jail: setpriv dropping to uid/gid, then the JVM with the VMM's
 *        rewritten options
 */
public record JailPlan(String id, int uid, int gid, Path jailDir, Path root, List<Path> dirs, List<Path> ownedDirs,
        List<Node> nodes, List<Bind> binds, List<Path> outputs, List<Link> links, Optional<Cgroup> cgroup,
        Optional<Path> netns, List<Rlimit> rlimits, List<Integer> descriptors, String umountLibraryPath,
        List<String> command) {

    public JailPlan {
        dirs = List.copyOf(dirs);
        ownedDirs = List.copyOf(ownedDirs);
        nodes = List.copyOf(nodes);
        binds = List.copyOf(binds);
        outputs = List.copyOf(outputs);
        links = List.copyOf(links);
        rlimits = List.copyOf(rlimits);
        descriptors = List.copyOf(descriptors);
        command = List.copyOf(command);
    }

    /** The old root's mount point during pivot_root, in the jail; removed right after. */
    public static final String OLD_ROOT = "/.old-root";

    /** The host path of an in-jail path. */
    public Path host(Path inJail) {
        return root.resolve(Path.of("/").relativize(inJail));
    }

    /**
     * A character device node in the jail, with the host device's numbers.
     *
     * @param owned owned by the VMM's user with mode 0600 (KVM, TUN, vhost-vsock), else root's with mode 0666
     *        (null, urandom)
     */
    public record Node(Path path, int major, int minor, boolean owned) {}

    /**
     * A bind mount of a host file or directory onto a path in the jail.
     *
     * @param directory whether the source is a directory (else the target is an empty file)
     * @param readOnly mounted read-only
     */
    public record Bind(Path source, Path target, boolean directory, boolean readOnly) {}

    /** A symbolic link {@code link} (a host path) to {@code target} (a host path in the jail). */
    public record Link(Path link, Path target) {}

    /**
     * A resource limit: {@code resource} is prlimit's name for it ({@code nofile}, {@code fsize}), {@code value} the
     * soft and hard limit.
     */
    public record Rlimit(String resource, long value) {}

    /** A file of a cgroup and the text written to it. */
    public record Write(Path file, String value) {}

    /**
     * The VM's cgroup.
     *
     * @param dir the cgroup's directory, created (and removed on exit) by the jailer
     * @param created the directories to create, parents first (the parent cgroup may exist already)
     * @param controllers writes to the ancestors' cgroup.subtree_control that enable the controllers the limits need
     * @param limits the limits, in the order given
     */
    public record Cgroup(Path dir, List<Path> created, List<Write> controllers, List<Write> limits) {
        public Cgroup {
            created = List.copyOf(created);
            controllers = List.copyOf(controllers);
            limits = List.copyOf(limits);
        }
    }
}
