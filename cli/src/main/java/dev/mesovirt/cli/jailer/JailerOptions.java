package dev.mesovirt.cli.jailer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The jailer's command line: {@code mesovirt-jailer --id ID --uid U --gid G [...] -- MESOVIRT-OPTIONS...}, with
 * Firecracker's jailer spellings, StratoVirt ozone's ({@code -name}, {@code -uid}, {@code -gid}, {@code -exec_file},
 * {@code -netns}, {@code -cgroup K=V[,K=V] [K=V...]}, {@code -capability CAP[,CAP]}, {@code -numa NODE},
 * {@code -source_file PATH [PATH...]}, {@code -clean-resource}) as aliases.
 *
 * @param id the VM's id: names the jail directory, the cgroup and the UTS namespace's host name
 * @param uid the VMM's user id (not 0)
 * @param gid the VMM's group id (not 0)
 * @param execFile the mesovirt launcher whose JVM command runs in the jail (empty: the one beside the jailer)
 * @param chrootBase the jail goes to {@code chrootBase/mesovirt/ID/root}
 * @param netns a network namespace to join (a file such as /var/run/netns/X), else the caller's
 * @param parentCgroup the VM's cgroup is {@code <cgroup2 mount>/parentCgroup/ID}
 * @param cgroups cgroup v2 interface files of the VM's cgroup and their values, in the order given
 * @param resourceLimits Firecracker's resource names ({@code fsize}, {@code no-file}) and the values given, in the
 *        order given; the planner adds the default no-file
 * @param capabilities capabilities the VMM keeps (setpriv's names: {@code net_admin}), none by default
 * @param sourceFiles host files and directories bound read-only at {@code /vm/NAME} in the jail besides the ones the
 *        options name (ozone's -source_file)
 * @param daemonize detach: return once the VMM runs, leaving a copy of the jailer in a new session to wait for it
 *        and clean up (Firecracker's --daemonize)
 * @param logPath with daemonize: where the VMM's and that copy's stdout and stderr go (appended), else /dev/null
 * @param vmmArgs the mesovirt options, as the user wrote them (host paths)
 */
public record JailerOptions(String id, int uid, int gid, Optional<Path> execFile, Path chrootBase,
        Optional<Path> netns, String parentCgroup, Map<String, String> cgroups, Map<String, Long> resourceLimits,
        Set<String> capabilities, List<Path> sourceFiles, boolean daemonize, Optional<Path> logPath,
        List<String> vmmArgs) {

    public static final Path DEFAULT_CHROOT_BASE = Path.of("/srv/jailer");
    public static final String DEFAULT_PARENT_CGROUP = "mesovirt";

    /** Firecracker's rule for ids: they become path and cgroup names. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final Pattern CGROUP_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    /** The limits a VM's cgroup may set: CPU bandwidth and weight, memory, process count, CPU and node placement. */
    static final Set<String> CGROUP_FILES = Set.of("cpu.max", "cpu.weight", "memory.max", "memory.high",
            "memory.swap.max", "pids.max", "cpuset.cpus", "cpuset.mems");
    /** The capabilities of capabilities(7), 0 to 40, as setpriv names them. */
    static final List<String> CAPABILITIES = List.of("chown", "dac_override", "dac_read_search", "fowner", "fsetid",
            "kill", "setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin",
            "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
            "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease",
            "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
            "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore");
    /** Firecracker's --resource-limit names: the size of a file the VMM writes, in bytes; its open descriptors. */
    static final String FSIZE = "fsize";
    static final String NO_FILE = "no-file";

    public JailerOptions {
        cgroups = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(cgroups));
        resourceLimits = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(resourceLimits));
        capabilities = java.util.Collections.unmodifiableSet(new java.util.TreeSet<>(capabilities));
        sourceFiles = List.copyOf(sourceFiles);
        vmmArgs = List.copyOf(vmmArgs);
    }

    public static final String USAGE = """
            usage: mesovirt-jailer --id ID --uid UID --gid GID [options] -- MESOVIRT-OPTIONS...
              --id ID                 the VM's id ([A-Za-z0-9-], up to 64): jail, cgroup and host name (ozone: -name)
              --uid UID, --gid GID    the non-root user and group the VMM runs as (ozone: -uid, -gid)
              --exec-file PATH        the mesovirt launcher (default: the one beside this one) (ozone: -exec_file)
              --chroot-base-dir DIR   the jail is DIR/mesovirt/ID/root (default /srv/jailer)
              --netns PATH            join this network namespace, e.g. /var/run/netns/NAME (ozone: -netns)
              --cgroup FILE=VALUE     a cgroup v2 limit of the VM's cgroup, repeatable: cpu.max, cpu.weight,
                                      memory.max, memory.high, memory.swap.max, pids.max, cpuset.cpus, cpuset.mems
                                      (ozone: -cgroup FILE=VALUE[,FILE=VALUE...] [FILE=VALUE...])
              --parent-cgroup NAME    the VM's cgroup is <cgroup2 mount>/NAME/ID (default mesovirt)
              --resource-limit RESOURCE=VALUE   a limit of the VMM (soft and hard), repeatable: fsize (bytes
                                      a file it writes may reach), no-file (open descriptors; default 2048)
              --cgroup-version 2      accepted; only cgroup v2 is supported
              --capability CAP[,CAP]  a capability the VMM keeps, e.g. CAP_NET_ADMIN; none by default
                                      (ozone: -capability CAP[,CAP...])
              --numa NODE             the VM's memory on this NUMA node: cpuset.mems=NODE (ozone: -numa)
              --source-file PATH      also bind this file or directory, read-only, at /vm/NAME in the jail,
                                      repeatable (ozone: -source_file PATH [PATH...])
              --daemonize             return once the VMM runs (its sockets exist); a copy of the jailer in a new
                                      session waits for it and removes the jail; its pid: <jail dir>/jailer.pid
              --log-path FILE         with --daemonize: the VMM's stdout and stderr (appended), else /dev/null
              -clean-resource         accepted (ozone); the jail and the cgroup are always removed on exit
            Host paths in the mesovirt options (-kernel, -initrd, -drive file=, -qmp unix:, -chardev path=,
            -serial file:, -D, -object rng-random filename=) are made visible in the jail and rewritten.
            Descriptors they name (-netdev tap,fds=N or fd=N, vhost-vsock vhostfd=N) reach the VMM at their
            numbers: open character devices of the caller's, without close-on-exec. Others are closed.
            Exit status: the VMM's; 1 for a usage or set-up error.
            """;

    /** Parses the jailer's arguments; a {@link JailerException} names what is wrong. */
    public static JailerOptions parse(String[] args) throws JailerException {
        String id = null;
        Integer uid = null;
        Integer gid = null;
        Path execFile = null;
        Path base = DEFAULT_CHROOT_BASE;
        Path netns = null;
        String parent = DEFAULT_PARENT_CGROUP;
        Map<String, String> cgroups = new LinkedHashMap<>();
        Map<String, Long> limits = new LinkedHashMap<>();
        Set<String> capabilities = new java.util.TreeSet<>();
        List<Path> sources = new ArrayList<>();
        boolean daemonize = false;
        Path log = null;
        List<String> vmm = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                vmm = new ArrayList<>(List.of(args).subList(i + 1, args.length));
                break;
            }
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (name) {
                case "--help", "-h", "-help" -> throw new JailerException.Help();
                case "-clean-resource", "--clean-resource" -> {
                    continue;
                }
                case "--daemonize" -> {
                    daemonize = true;
                    continue;
                }
                default -> { }
            }
            if (value == null) {
                if (!arg.startsWith("-") || i + 1 >= args.length || args[i + 1].equals("--")) {
                    throw new JailerException(arg.startsWith("-") ? "option " + arg + " needs an argument"
                            : "unexpected argument '" + arg + "' (the mesovirt options go after --)");
                }
                value = args[++i];
            }
            switch (name) {
                case "--id", "-name", "--name" -> id = once(name, id, value);
                case "--uid", "-uid" -> uid = once(name, uid, id(name, value));
                case "--gid", "-gid" -> gid = once(name, gid, id(name, value));
                case "--exec-file", "-exec_file" -> execFile = once(name, execFile, absolute(name, value));
                case "--chroot-base-dir" -> base = absolute(name, value);
                case "--netns", "-netns" -> netns = once(name, netns, absolute(name, value));
                case "--parent-cgroup" -> parent = value;
                case "--cgroup-version" -> {
                    if (!value.equals("2")) {
                        throw new JailerException("--cgroup-version " + value + ": only cgroup v2 is supported");
                    }
                }
                case "--cgroup" -> cgroup(name, value, cgroups);
                case "--resource-limit" -> resourceLimit(name, value, limits);
                case "--log-path" -> log = once(name, log, absolute(name, value));
                case "-cgroup" -> { // ozone: -cgroup K=V [K=V...]; here also K=V,K=V
                    List<String> values = values(value, args, i);
                    i += values.size() - 1;
                    for (String v : values) {
                        for (String item : v.split(",", -1)) {
                            cgroup(name, item, cgroups);
                        }
                    }
                }
                case "--capability", "-capability" -> {
                    for (String cap : value.split(",", -1)) {
                        capabilities.add(capability(name, cap));
                    }
                }
                case "--numa", "-numa" -> {
                    if (!value.matches("[0-9]{1,4}")) {
                        throw new JailerException(name + " " + value + ": a NUMA node number, e.g. 0");
                    }
                    cgroup(name, "cpuset.mems=" + value, cgroups);
                }
                case "--source-file" -> sources.add(absolute(name, value));
                case "-source_file", "-source" -> { // ozone: one or more paths
                    List<String> values = values(value, args, i);
                    i += values.size() - 1;
                    for (String v : values) {
                        sources.add(absolute(name, v));
                    }
                }
                default -> throw new JailerException("unknown option " + name + " (try --help)");
            }
        }
        if (id == null) {
            throw new JailerException("--id ID is required");
        }
        if (!ID.matcher(id).matches()) {
            throw new JailerException("--id " + id + ": use 1 to 64 letters, digits and '-'");
        }
        if (uid == null || gid == null) {
            throw new JailerException((uid == null ? "--uid" : "--gid") + " is required");
        }
        if (!CGROUP_NAME.matcher(parent).matches() || parent.startsWith(".")) {
            throw new JailerException("--parent-cgroup " + parent + ": use a plain directory name");
        }
        if (log != null && !daemonize) {
            throw new JailerException("--log-path is for --daemonize (without it the VMM's output is the jailer's)");
        }
        if (vmm == null || vmm.isEmpty()) {
            throw new JailerException("no mesovirt options: give them after --");
        }
        return new JailerOptions(id, uid, gid, Optional.ofNullable(execFile), base, Optional.ofNullable(netns),
                parent, cgroups, limits, capabilities, sources, daemonize, Optional.ofNullable(log), vmm);
    }

    /** An ozone option's values: the one read, then the arguments after it up to the next option or "--". */
    private static List<String> values(String first, String[] args, int i) {
        List<String> values = new ArrayList<>(List.of(first));
        for (int k = i + 1; k < args.length && !args[k].startsWith("-"); k++) {
            values.add(args[k]);
        }
        return values;
    }

    /** CAP_NET_ADMIN, cap_net_admin or net_admin: setpriv's net_admin. */
    private static String capability(String name, String text) throws JailerException {
        String cap = text.toLowerCase(java.util.Locale.ROOT);
        cap = cap.startsWith("cap_") ? cap.substring(4) : cap;
        if (!CAPABILITIES.contains(cap)) {
            throw new JailerException(name + " " + text + ": not a capability (capabilities(7): CAP_NET_ADMIN,"
                    + " CAP_SYS_NICE, ...)");
        }
        return cap;
    }

    private static <T> T once(String name, T previous, T value) throws JailerException {
        if (previous != null) {
            throw new JailerException("option " + name + " given more than once");
        }
        return value;
    }

    /** A uid or gid: 1..2^32-2 (0 is root, 2^32-1 is "no id" to the kernel). */
    private static int id(String name, String value) throws JailerException {
        long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new JailerException(name + " " + value + ": not a number");
        }
        if (n == 0) {
            throw new JailerException(name + " 0: the VMM must not run as root");
        }
        if (n < 0 || n >= 0xFFFF_FFFFL) {
            throw new JailerException(name + " " + value + ": out of range (1 to 4294967294)");
        }
        return (int) n;
    }

    private static Path absolute(String name, String value) throws JailerException {
        if (value.isEmpty()) {
            throw new JailerException(name + ": empty path");
        }
        return Path.of(value).toAbsolutePath().normalize();
    }

    private static void cgroup(String name, String item, Map<String, String> cgroups) throws JailerException {
        int eq = item.indexOf('=');
        if (eq <= 0) {
            throw new JailerException(name + " " + item + ": expected FILE=VALUE, e.g. memory.max=512M");
        }
        String file = item.substring(0, eq);
        String value = item.substring(eq + 1);
        if (!CGROUP_FILES.contains(file)) {
            throw new JailerException(name + " " + item + ": " + file + " is not one of "
                    + String.join(", ", CGROUP_FILES.stream().sorted().toList()));
        }
        if (value.isEmpty() || value.indexOf('\n') >= 0) {
            throw new JailerException(name + " " + item + ": empty or multi-line value");
        }
        if (cgroups.put(file, value) != null) {
            throw new JailerException(name + ": " + file + " given more than once");
        }
    }

    private static void resourceLimit(String name, String item, Map<String, Long> limits) throws JailerException {
        int eq = item.indexOf('=');
        String resource = eq < 0 ? item : item.substring(0, eq);
        if (!resource.equals(FSIZE) && !resource.equals(NO_FILE)) {
            throw new JailerException(name + " " + item + ": the resources are " + FSIZE + " and " + NO_FILE
                    + ", e.g. " + NO_FILE + "=1024");
        }
        long value = -1;
        if (eq > 0 && item.substring(eq + 1).matches("[0-9]{1,18}")) {
            value = Long.parseLong(item.substring(eq + 1));
        }
        if (value < 0) {
            throw new JailerException(name + " " + item + ": expected " + resource + "=N, N a number from 0");
        }
        if (limits.put(resource, value) != null) {
            throw new JailerException(name + ": " + resource + " given more than once");
        }
    }
}
