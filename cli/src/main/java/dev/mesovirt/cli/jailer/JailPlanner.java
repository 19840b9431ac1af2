package dev.mesovirt.cli.jailer;

import dev.mesovirt.cli.jailer.JailPlan.Bind;
import dev.mesovirt.cli.jailer.JailPlan.Cgroup;
import dev.mesovirt.cli.jailer.JailPlan.Link;
import dev.mesovirt.cli.jailer.JailPlan.Node;
import dev.mesovirt.cli.jailer.JailPlan.Rlimit;
import dev.mesovirt.cli.jailer.JailPlan.Write;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;

/**
 * Computes a {@link JailPlan} from the options and a few facts about the host, without side effects (so that the
 * whole layout is unit-tested without root).
 *
 * <p>Paths: every path in the mesovirt options is a host path, as without the jailer; the planner rewrites it to
 * where the VMM finds it in the jail. Files the VMM reads (kernel, initrd, disks, an entropy file) are bound at
 * {@code /vm/NAME}, read-only unless they are writable disks; files it writes (-D, -serial file:) are bound at
 * {@code /run/NAME} and stay on the host; sockets it creates (-qmp, -chardev ...,server) are made at
 * {@code /run/NAME}, which is {@code <jail>/run/NAME} from outside, and a symbolic link at the path the user gave
 * points there; sockets it connects to (-chardev without server) are bound at {@code /run/NAME}. The JDK, the
 * distribution's lib/ and the shared libraries the JVM needs are bound read-only at their host paths, so the JVM
 * command of the launcher (and its class-data archive, which records the class path) works unchanged.
 */
public final class JailPlanner {
    private static final Path VM = Path.of("/vm");
    private static final Path RUN = Path.of("/run");
    private static final Path DEV = Path.of("/dev");
    /**
     * The VMM's open descriptors unless --resource-limit no-file says otherwise: Firecracker's default. A VMM with a
     * disk, a TAP, vhost-vsock, an entropy source, the serial console and QMP holds 80 of them, the JVM's own
     * included (ci/tests/jailer.sh prints the count), so hot-plugged devices and QMP clients have room.
     */
    static final long DEFAULT_NO_FILE = 2048;

    /** Host facts the plan depends on. */
    public interface Host {
        /** The device number (st_rdev) of a host character device, or an error naming it. */
        long rdev(Path device) throws JailerException;

        /**
         * The device number of the jailer's descriptor {@code fd} if it is a character device, empty if it is open
         * but something else; an error naming it if it is not open.
         */
        OptionalLong descriptorRdev(int fd) throws JailerException;

        /** Whether a host path is a directory (else it is bound as a file, or reported missing later). */
        boolean isDirectory(Path path);
    }

    private final JailerOptions options;
    private final Host host;
    private final Path root;
    private final Set<Path> dirs = new LinkedHashSet<>();
    private final Set<Path> ownedDirs = new LinkedHashSet<>();
    private final List<Node> nodes = new ArrayList<>();
    private final Set<Path> nodePaths = new HashSet<>();
    private final List<Bind> binds = new ArrayList<>();
    /** The index in binds of each file bound at /vm/NAME, by host path: named twice, it is bound once. */
    private final java.util.Map<Path, Integer> inputs = new java.util.HashMap<>();
    private final List<Path> outputs = new ArrayList<>();
    private final List<Link> links = new ArrayList<>();
    private final Set<Path> usedTargets = new HashSet<>();
    private final Set<Integer> descriptors = new TreeSet<>();

    private JailPlanner(JailerOptions options, Host host) {
        this.options = options;
        this.host = host;
        this.root = options.chrootBase().resolve("mesovirt").resolve(options.id()).resolve("root");
    }

    /**
     * @param javaCommand the launcher's JVM command (MESOVIRT_PRINT_COMMAND): java, its options, -cp LIB/*, the class
     * @param libraries the shared libraries (ldd's paths) the JVM, its native libraries and setpriv load
     * @param umountLibraries the shared libraries of the host's umount
     * @param setpriv util-linux's setpriv on the host: bound into the jail, the last stage before the JVM
     * @param cgroupMount where cgroup v2 is mounted, if it is
     */
    public static JailPlan plan(JailerOptions options, List<String> javaCommand, List<Path> libraries,
            List<Path> umountLibraries, Path setpriv, Optional<Path> cgroupMount, Host host) throws JailerException {
        return new JailPlanner(options, host).plan(javaCommand, libraries, umountLibraries, setpriv, cgroupMount);
    }

    private JailPlan plan(List<String> javaCommand, List<Path> libraries, List<Path> umountLibraries, Path setpriv,
            Optional<Path> cgroupMount) throws JailerException {
        dir(Path.of(JailPlan.OLD_ROOT));
        dir(Path.of("/proc"));
        ownedDir(RUN);
        ownedDir(Path.of("/tmp"));
        node(DEV.resolve("kvm"), true);
        node(DEV.resolve("null"), false);
        node(DEV.resolve("urandom"), false);
        // The JDK's seed source (securerandom.source=file:/dev/random): without it SecureRandom falls back to a
        // seed generator that spins a CPU for seconds (seen: 10 s before the first KVM call).
        node(DEV.resolve("random"), false);

        if (javaCommand.size() < 4 || !javaCommand.getFirst().startsWith("/")) {
            throw new JailerException("the launcher gave no usable java command: " + javaCommand);
        }
        Path java = Path.of(javaCommand.getFirst()).normalize();
        Path jdk = java.getParent().getParent();
        int cp = javaCommand.indexOf("-cp");
        if (cp < 0 || cp + 1 >= javaCommand.size() || !javaCommand.get(cp + 1).endsWith("/*")
                || !javaCommand.get(cp + 1).startsWith("/")) {
            throw new JailerException("the launcher's java command has no absolute -cp LIB/*: " + javaCommand);
        }
        String libText = javaCommand.get(cp + 1);
        Path lib = Path.of(libText.substring(0, libText.length() - 2));
        bindDirAsWritten(jdk, javaCommand.getFirst().substring(0, javaCommand.getFirst().length() - "/bin/java".length()));
        bindDirAsWritten(lib.normalize(), lib.toString());
        for (Path library : libraries) {
            Path l = library.normalize();
            if (!l.startsWith(jdk) && !l.startsWith(lib.normalize()) && usedTargets.add(l)) {
                parents(l);
                binds.add(new Bind(l, l, false, true));
            }
        }
        parents(setpriv);
        if (usedTargets.add(setpriv)) {
            binds.add(new Bind(setpriv, setpriv, false, true));
        }
        Set<String> umountDirs = new LinkedHashSet<>();
        for (Path library : umountLibraries) {
            umountDirs.add(JailPlan.OLD_ROOT + library.getParent().normalize());
        }

        for (Path source : options.sourceFiles()) {
            Path target = unique(VM, source);
            inputs.put(source, binds.size());
            binds.add(new Bind(source, target, host.isDirectory(source), true));
        }
        List<String> vmm = rewrite(options.vmmArgs());
        List<String> command = new ArrayList<>();
        command.add(setpriv.toString());
        command.add("--reuid=" + Integer.toUnsignedString(options.uid()));
        command.add("--regid=" + Integer.toUnsignedString(options.gid()));
        command.add("--clear-groups");
        if (options.capabilities().isEmpty()) {
            command.add("--inh-caps=-all");
            command.add("--bounding-set=-all");
        } else {
            // A capability survives the uid change and the exec only as an ambient one, which must be inheritable
            // and in the bounding set too.
            StringBuilder keep = new StringBuilder("-all");
            for (String cap : options.capabilities()) {
                keep.append(",+").append(cap);
            }
            command.add("--inh-caps=" + keep);
            command.add("--ambient-caps=" + keep);
            command.add("--bounding-set=" + keep);
        }
        command.add("--no-new-privs");
        // unshare --kill-child sets the parent-death signal, but the uid change clears it: set it again.
        command.add("--pdeathsig=SIGKILL");
        command.add("--");
        command.addAll(javaCommand);
        command.addAll(vmm);

        Optional<Cgroup> cgroup = Optional.empty();
        if (!options.cgroups().isEmpty()) {
            Path mount = cgroupMount.orElseThrow(() -> new JailerException(
                    "--cgroup needs cgroup v2 mounted (no cgroup2 in /proc/self/mountinfo): mount -t cgroup2 none /sys/fs/cgroup"));
            Path parent = mount.resolve(options.parentCgroup());
            Path dir = parent.resolve(options.id());
            Set<String> controllers = new LinkedHashSet<>();
            List<Write> limits = new ArrayList<>();
            for (Map.Entry<String, String> e : options.cgroups().entrySet()) {
                controllers.add(e.getKey().substring(0, e.getKey().indexOf('.')));
                limits.add(new Write(dir.resolve(e.getKey()), e.getValue()));
            }
            StringBuilder enable = new StringBuilder();
            for (String c : controllers) {
                enable.append(enable.isEmpty() ? "" : " ").append('+').append(c);
            }
            cgroup = Optional.of(new Cgroup(dir, List.of(parent, dir),
                    List.of(new Write(mount.resolve("cgroup.subtree_control"), enable.toString()),
                            new Write(parent.resolve("cgroup.subtree_control"), enable.toString())),
                    limits));
        }
        List<Rlimit> rlimits = new ArrayList<>();
        rlimits.add(new Rlimit("nofile", options.resourceLimits().getOrDefault(JailerOptions.NO_FILE, DEFAULT_NO_FILE)));
        if (options.resourceLimits().containsKey(JailerOptions.FSIZE)) {
            rlimits.add(new Rlimit("fsize", options.resourceLimits().get(JailerOptions.FSIZE)));
        }
        return new JailPlan(options.id(), options.uid(), options.gid(), root.getParent(), root,
                new ArrayList<>(dirs), new ArrayList<>(ownedDirs), nodes, binds, outputs, links, cgroup,
                options.netns(), rlimits, new ArrayList<>(descriptors), String.join(":", umountDirs), command);
    }

    /**
     * Binds a host directory at the path the JVM command names it by, which may hold ".." (the launcher's
     * {@code bin/../lib}): every directory the kernel walks through in the jail is created, so the path resolves there
     * as it does on the host.
     */
    private void bindDirAsWritten(Path source, String written) {
        Path cur = Path.of("/");
        for (String part : written.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            cur = part.equals("..") ? (cur.getParent() == null ? cur : cur.getParent()) : cur.resolve(part);
            if (!part.equals("..")) {
                dir(cur);
            }
        }
        usedTargets.add(cur);
        binds.add(new Bind(source, cur, true, true));
    }

    /** The mesovirt options with their host paths replaced by in-jail ones; records what that needs. */
    private List<String> rewrite(List<String> args) throws JailerException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            out.add(arg);
            if (!arg.startsWith("-") || arg.equals("-")) {
                continue;
            }
            String name = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
            switch (name) {
                case "disable-seccomp", "S", "freeze", "help", "h", "version", "V", "daemonize" -> {
                    continue;
                }
                case "D" -> {
                    if (i + 1 < args.size() && !args.get(i + 1).startsWith("-")) {
                        out.add(output(args.get(++i)));
                    }
                    continue;
                }
                default -> { }
            }
            if (i + 1 >= args.size()) {
                continue; // mesovirt reports the missing argument
            }
            String value = args.get(++i);
            out.add(switch (name) {
                case "kernel", "initrd" -> input(arg, value, true);
                case "drive" -> drive(arg, value);
                case "qmp" -> qmp(arg, value);
                case "chardev" -> chardev(arg, value);
                case "serial" -> value.startsWith("file:") ? "file:" + output(value.substring(5)) : value;
                case "object" -> object(arg, value);
                case "netdev" -> netdev(arg, value);
                case "device" -> device(arg, value);
                default -> value;
            });
        }
        return out;
    }

    private String drive(String opt, String value) throws JailerException {
        String[] items = value.split(",", -1);
        boolean readOnly = false;
        for (String item : items) {
            readOnly |= item.equals("readonly=on") || item.equals("readonly=true");
        }
        for (int k = 0; k < items.length; k++) {
            if (items[k].startsWith("file=")) {
                items[k] = "file=" + input(opt, items[k].substring(5), readOnly);
            }
        }
        return String.join(",", items);
    }

    private String qmp(String opt, String value) throws JailerException {
        if (!value.startsWith("unix:")) {
            return value; // mesovirt refuses it with its own message
        }
        int comma = value.indexOf(',');
        String path = comma < 0 ? value.substring(5) : value.substring(5, comma);
        return "unix:" + socket(opt, path) + (comma < 0 ? "" : value.substring(comma));
    }

    private String chardev(String opt, String value) throws JailerException {
        String[] items = value.split(",", -1);
        boolean socket = items[0].equals("socket") || items[0].equals("backend=socket");
        boolean server = false;
        for (String item : items) {
            server |= item.equals("server") || item.equals("server=on");
        }
        for (int k = 0; socket && k < items.length; k++) {
            if (items[k].startsWith("path=")) {
                String path = items[k].substring(5);
                if (server) {
                    items[k] = "path=" + socket(opt, path);
                } else {
                    Path target = unique(RUN, Path.of(path));
                    binds.add(new Bind(absolute(opt, path), target, false, false));
                    items[k] = "path=" + target;
                }
            }
        }
        return String.join(",", items);
    }

    private String object(String opt, String value) throws JailerException {
        String[] items = value.split(",", -1);
        if (!items[0].equals("rng-random") && !items[0].equals("qom-type=rng-random")) {
            return value;
        }
        for (int k = 0; k < items.length; k++) {
            if (items[k].startsWith("filename=")) {
                String file = items[k].substring(9);
                if (file.equals("/dev/urandom") || file.equals("/dev/random")) {
                    node(Path.of(file), false);
                } else {
                    items[k] = "filename=" + input(opt, file, true);
                }
            }
        }
        return String.join(",", items);
    }

    private String netdev(String opt, String value) throws JailerException {
        boolean passed = false;
        for (String item : value.split(",", -1)) {
            if (item.startsWith("fds=") || item.startsWith("fd=")) {
                String key = item.substring(0, item.indexOf('='));
                for (String fd : item.substring(key.length() + 1).split(":", -1)) {
                    descriptor(opt, value, key, fd);
                }
                passed = true;
            }
        }
        // A TAP the caller opened needs no /dev/net/tun in the jail; one named by ifname= does.
        if (value.startsWith("tap") && !passed) {
            node(DEV.resolve("net").resolve("tun"), true);
        }
        return value;
    }

    private String device(String opt, String value) throws JailerException {
        if (value.startsWith("vhost-vsock-device") || value.startsWith("vhost-vsock-pci")) {
            boolean passed = false;
            for (String item : value.split(",", -1)) {
                if (item.startsWith("vhostfd=")) {
                    descriptor(opt, value, "vhostfd", item.substring("vhostfd=".length()));
                    passed = true;
                }
            }
            if (!passed) {
                node(DEV.resolve("vhost-vsock"), true);
            }
        }
        return value;
    }

    /**
     * The descriptor numbers the options name (-netdev's fds= and fd=, -device's vhostfd=), unchecked: what a
     * daemonizing jailer hands on to its copy, whose plan then checks them.
     */
    static Set<Integer> namedDescriptors(List<String> vmmArgs) {
        Set<Integer> fds = new TreeSet<>();
        for (int i = 0; i + 1 < vmmArgs.size(); i++) {
            String name = vmmArgs.get(i).replaceFirst("^--?", "");
            if (!name.equals("netdev") && !name.equals("device")) {
                continue;
            }
            for (String item : vmmArgs.get(++i).split(",", -1)) {
                int eq = item.indexOf('=');
                String key = eq < 0 ? "" : item.substring(0, eq);
                if (key.equals("fds") || key.equals("fd") || key.equals("vhostfd")) {
                    for (String n : item.substring(eq + 1).split(":", -1)) {
                        if (n.matches("[0-9]{1,9}")) {
                            fds.add(Integer.parseInt(n));
                        }
                    }
                }
            }
        }
        return fds;
    }

    /**
     * A descriptor of the jailer's that the VMM gets at the same number: it must be open here and a character
     * device (a TAP, /dev/vhost-vsock), which also keeps any descriptor of the jailer's own JVM out of the jail.
     */
    private void descriptor(String opt, String value, String key, String text) throws JailerException {
        if (!text.matches("[0-9]{1,9}")) {
            throw new JailerException(opt + " " + value + ": " + key + "=" + text + " is not a descriptor number");
        }
        int fd = Integer.parseInt(text);
        if (fd <= 2) {
            throw new JailerException(opt + " " + value + ": " + key + "=" + fd
                    + ": 0, 1 and 2 are the VMM's stdin, stdout and stderr");
        }
        OptionalLong rdev;
        try {
            rdev = host.descriptorRdev(fd);
        } catch (JailerException e) {
            throw new JailerException(opt + " " + value + ": " + e.getMessage());
        }
        if (rdev.isEmpty()) {
            throw new JailerException(opt + " " + value + ": descriptor " + fd + " is not a character device"
                    + " (a TAP's /dev/net/tun or a macvtap, /dev/vhost-vsock)");
        }
        descriptors.add(fd);
    }

    /**
     * A host file the VMM reads (or writes, for a writable disk), bound at /vm/NAME; the same file named again (or
     * given as a --source-file) is bound once, writable if any use writes it.
     */
    private String input(String opt, String path, boolean readOnly) throws JailerException {
        Path source = absolute(opt, path);
        Integer known = inputs.get(source);
        if (known != null) {
            Bind b = binds.get(known);
            if (b.readOnly() && !readOnly) {
                binds.set(known, new Bind(b.source(), b.target(), b.directory(), false));
            }
            return b.target().toString();
        }
        Path target = unique(VM, source);
        inputs.put(source, binds.size());
        binds.add(new Bind(source, target, false, readOnly));
        return target.toString();
    }

    /** A host file the VMM writes: created outside, owned by the VMM's user, bound at /run/NAME. */
    private String output(String path) throws JailerException {
        Path source = absolute("-D/-serial", path);
        Path target = unique(RUN, source);
        outputs.add(source);
        binds.add(new Bind(source, target, false, false));
        return target.toString();
    }

    /** A socket the VMM creates: /run/NAME in the jail, with a link to it at the user's path. */
    private String socket(String opt, String path) throws JailerException {
        Path link = absolute(opt, path);
        Path target = unique(RUN, link);
        links.add(new Link(link, host(target)));
        return target.toString();
    }

    private Path host(Path inJail) {
        return root.resolve(Path.of("/").relativize(inJail));
    }

    private static Path absolute(String opt, String path) throws JailerException {
        if (path.isEmpty()) {
            throw new JailerException(opt + ": empty path");
        }
        return Path.of(path).toAbsolutePath().normalize();
    }

    /** DIR/NAME for the source's file name, or DIR/N-NAME when that is taken. */
    private Path unique(Path dir, Path source) {
        String name = source.getFileName() == null ? "file" : source.getFileName().toString();
        Path target = dir.resolve(name);
        for (int n = 2; !usedTargets.add(target); n++) {
            target = dir.resolve(n + "-" + name);
        }
        if (!ownedDirs.contains(dir)) {
            dir(dir);
        }
        return target;
    }

    private void node(Path path, boolean owned) throws JailerException {
        if (!nodePaths.add(path)) {
            return;
        }
        parents(path);
        long rdev = host.rdev(path);
        // glibc's major()/minor() split of a 64-bit dev_t.
        int major = (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
        int minor = (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
        nodes.add(new Node(path, major, minor, owned));
    }

    private void parents(Path path) {
        Path parent = path.getParent();
        if (parent != null && parent.getParent() != null) {
            parents(parent);
            dir(parent);
        }
    }

    private void dir(Path path) {
        if (!ownedDirs.contains(path)) {
            parents(path);
            dirs.add(path);
        }
    }

    private void ownedDir(Path path) {
        ownedDirs.add(path);
    }
}
