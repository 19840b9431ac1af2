package dev.mesovirt.cli.jailer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.cli.jailer.JailPlan.Bind;
import dev.mesovirt.cli.jailer.JailPlan.Link;
import dev.mesovirt.cli.jailer.JailPlan.Node;
import dev.mesovirt.cli.jailer.JailPlan.Rlimit;
import dev.mesovirt.cli.jailer.JailPlan.Write;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jail as data: which files go where, which nodes, which cgroup writes, the rewritten command; and its script. */
class JailPlanTest {
    private static final Map<String, Long> DEVICES = Map.of("/dev/kvm", dev(10, 232), "/dev/null", dev(1, 3),
            "/dev/urandom", dev(1, 9), "/dev/random", dev(1, 8), "/dev/net/tun", dev(10, 200),
            "/dev/vhost-vsock", dev(10, 241));
    /** The jailer's open descriptors: 7 a TAP, 8 /dev/vhost-vsock, 9 a socket (-1: not a character device). */
    private static final Map<Integer, Long> FDS = Map.of(7, dev(10, 200), 8, dev(10, 241), 9, -1L);
    private static final JailPlanner.Host HOST = host(DEVICES);

    private static JailPlanner.Host host(Map<String, Long> devices) {
        return new JailPlanner.Host() {
            @Override
            public long rdev(Path device) throws JailerException {
                Long rdev = devices.get(device.toString());
                if (rdev == null) {
                    throw new JailerException(device + " is missing on this host (the VM needs it)");
                }
                return rdev;
            }

            @Override
            public OptionalLong descriptorRdev(int fd) throws JailerException {
                Long rdev = FDS.get(fd);
                if (rdev == null) {
                    throw new JailerException("descriptor " + fd + " is not open in the jailer");
                }
                return rdev < 0 ? OptionalLong.empty() : OptionalLong.of(rdev);
            }

            @Override
            public boolean isDirectory(Path path) {
                return path.toString().endsWith("/dir");
            }
        };
    }
    private static final List<String> JAVA = List.of("/usr/lib/jvm/jdk/bin/java", "-Xshare:auto",
            "-Djna.boot.library.path=/opt/m/bin/../lib/jna", "-cp", "/opt/m/bin/../lib/*", "dev.mesovirt.cli.Main");
    private static final List<Path> LIBS = paths("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/jvm/jdk/bin/../lib/libjli.so", "/lib/x86_64-linux-gnu/libcap-ng.so.0",
            "/lib/x86_64-linux-gnu/libc.so.6");
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final Path ROOT = Path.of("/srv/jailer/mesovirt/vm1/root");

    private static long dev(int major, int minor) {
        return ((long) major << 8) | minor;
    }

    private static List<Path> paths(String... p) {
        List<Path> out = new ArrayList<>();
        for (String s : p) {
            out.add(Path.of(s));
        }
        return out;
    }

    private static JailPlan plan(String... args) throws JailerException {
        List<String> all = new ArrayList<>(List.of("--id", "vm1", "--uid", "1000", "--gid", "1001", "--cgroup",
                "cpu.max=50000 100000", "--cgroup", "memory.max=512M", "--cgroup", "pids.max=64", "--netns",
                "/run/netns/n", "--"));
        all.addAll(List.of(args));
        return JailPlanner.plan(JailerOptions.parse(all.toArray(String[]::new)), JAVA, LIBS,
                paths("/lib/x86_64-linux-gnu/libmount.so.1", "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
                        "/lib/x86_64-linux-gnu/libc.so.6"),
                SETPRIV, Optional.of(Path.of("/sys/fs/cgroup")), HOST);
    }

    private static final String[] FULL = {"-kernel", "/img/vmlinuz", "-initrd", "/img/initrd.gz",
        "-drive", "id=d0,file=/img/disk.img", "-drive", "id=d1,file=/other/disk.img,readonly=on",
        "-device", "virtio-blk-device,drive=d0,id=b0", "-append", "console=ttyS0 x='y'",
        "-qmp", "unix:/tmp/vm.sock,server,nowait", "-chardev", "socket,id=c0,path=/srv/con.sock,server,nowait",
        "-chardev", "socket,id=vfs,path=/srv/vfs.sock", "-serial", "file:/var/log/serial.txt", "-D", "/var/log/vmm.log",
        "-object", "rng-random,id=r0,filename=/dev/random", "-netdev", "tap,id=n0,ifname=tap0",
        "-device", "vhost-vsock-device,id=v0,guest-cid=3", "-disable-seccomp"};

    @Test
    void theVmmCommandDropsPrivilegesAndSeesInJailPaths() throws Exception {
        JailPlan p = plan(FULL);
        List<String> expected = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=1000", "--regid=1001",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--pdeathsig=SIGKILL", "--"));
        expected.addAll(JAVA);
        expected.addAll(List.of("-kernel", "/vm/vmlinuz", "-initrd", "/vm/initrd.gz",
                "-drive", "id=d0,file=/vm/disk.img", "-drive", "id=d1,file=/vm/2-disk.img,readonly=on",
                "-device", "virtio-blk-device,drive=d0,id=b0", "-append", "console=ttyS0 x='y'",
                "-qmp", "unix:/run/vm.sock,server,nowait", "-chardev", "socket,id=c0,path=/run/con.sock,server,nowait",
                "-chardev", "socket,id=vfs,path=/run/vfs.sock", "-serial", "file:/run/serial.txt", "-D", "/run/vmm.log",
                "-object", "rng-random,id=r0,filename=/dev/random", "-netdev", "tap,id=n0,ifname=tap0",
                "-device", "vhost-vsock-device,id=v0,guest-cid=3", "-disable-seccomp"));
        assertEquals(expected, p.command());
    }

    @Test
    void whatGoesWhere() throws Exception {
        JailPlan p = plan(FULL);
        assertEquals(ROOT, p.root());
        assertEquals(Path.of("/srv/jailer/mesovirt/vm1"), p.jailDir());
        assertEquals(List.of(
                // the JDK and the dist's lib/ (at the path the launcher wrote, bin/.. included), read-only
                new Bind(Path.of("/usr/lib/jvm/jdk"), Path.of("/usr/lib/jvm/jdk"), true, true),
                new Bind(Path.of("/opt/m/lib"), Path.of("/opt/m/lib"), true, true),
                // the libraries outside the JDK, once each, and setpriv
                new Bind(Path.of("/lib64/ld-linux-x86-64.so.2"), Path.of("/lib64/ld-linux-x86-64.so.2"), false, true),
                new Bind(Path.of("/lib/x86_64-linux-gnu/libc.so.6"), Path.of("/lib/x86_64-linux-gnu/libc.so.6"), false, true),
                new Bind(Path.of("/lib/x86_64-linux-gnu/libcap-ng.so.0"), Path.of("/lib/x86_64-linux-gnu/libcap-ng.so.0"), false, true),
                new Bind(SETPRIV, SETPRIV, false, true),
                // the VM's files: read-only unless a writable disk; a second disk.img gets another name
                new Bind(Path.of("/img/vmlinuz"), Path.of("/vm/vmlinuz"), false, true),
                new Bind(Path.of("/img/initrd.gz"), Path.of("/vm/initrd.gz"), false, true),
                new Bind(Path.of("/img/disk.img"), Path.of("/vm/disk.img"), false, false),
                new Bind(Path.of("/other/disk.img"), Path.of("/vm/2-disk.img"), false, true),
                // a socket the VMM connects to, and the files it writes
                new Bind(Path.of("/srv/vfs.sock"), Path.of("/run/vfs.sock"), false, false),
                new Bind(Path.of("/var/log/serial.txt"), Path.of("/run/serial.txt"), false, false),
                new Bind(Path.of("/var/log/vmm.log"), Path.of("/run/vmm.log"), false, false)), p.binds());
        assertEquals(paths("/var/log/serial.txt", "/var/log/vmm.log"), p.outputs());
        assertEquals(List.of(new Link(Path.of("/tmp/vm.sock"), ROOT.resolve("run/vm.sock")),
                new Link(Path.of("/srv/con.sock"), ROOT.resolve("run/con.sock"))), p.links());
        assertEquals(List.of(new Node(Path.of("/dev/kvm"), 10, 232, true), new Node(Path.of("/dev/null"), 1, 3, false),
                new Node(Path.of("/dev/urandom"), 1, 9, false), new Node(Path.of("/dev/random"), 1, 8, false),
                new Node(Path.of("/dev/net/tun"), 10, 200, true), new Node(Path.of("/dev/vhost-vsock"), 10, 241, true)),
                p.nodes());
        assertEquals(paths("/run", "/tmp"), p.ownedDirs());
        // Parents before children; bin/ exists so that /opt/m/bin/../lib resolves in the jail as on the host.
        assertEquals(paths("/.old-root", "/proc", "/dev", "/usr", "/usr/lib", "/usr/lib/jvm",
                "/usr/lib/jvm/jdk", "/opt", "/opt/m", "/opt/m/bin", "/opt/m/lib", "/lib64", "/lib",
                "/lib/x86_64-linux-gnu", "/usr/bin", "/vm", "/dev/net"), p.dirs());
        assertEquals("/.old-root/lib/x86_64-linux-gnu:/.old-root/usr/lib/x86_64-linux-gnu", p.umountLibraryPath());
        assertEquals(Optional.of(Path.of("/run/netns/n")), p.netns());
        assertEquals(ROOT.resolve("run/vm.sock"), p.host(Path.of("/run/vm.sock")));
    }

    @Test
    void onlyTheDevicesTheVmNeeds() throws Exception {
        JailPlan p = plan("-kernel", "/img/vmlinuz", "-m", "256");
        assertEquals(paths("/dev/kvm", "/dev/null", "/dev/urandom", "/dev/random"), p.nodes().stream().map(Node::path).toList());
        assertTrue(p.links().isEmpty() && p.outputs().isEmpty());
    }

    @Test
    void cgroupWrites() throws Exception {
        JailPlan.Cgroup c = plan("-kernel", "/img/vmlinuz").cgroup().orElseThrow();
        Path cg = Path.of("/sys/fs/cgroup");
        assertEquals(cg.resolve("mesovirt/vm1"), c.dir());
        assertEquals(List.of(cg.resolve("mesovirt"), cg.resolve("mesovirt/vm1")), c.created());
        assertEquals(List.of(new Write(cg.resolve("cgroup.subtree_control"), "+cpu +memory +pids"),
                new Write(cg.resolve("mesovirt/cgroup.subtree_control"), "+cpu +memory +pids")), c.controllers());
        assertEquals(List.of(new Write(cg.resolve("mesovirt/vm1/cpu.max"), "50000 100000"),
                new Write(cg.resolve("mesovirt/vm1/memory.max"), "512M"),
                new Write(cg.resolve("mesovirt/vm1/pids.max"), "64")), c.limits());
    }

    @Test
    void noLimitsNoCgroup() throws Exception {
        JailPlan p = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1", "--gid", "1", "--",
            "-kernel", "/k"}), JAVA, LIBS, List.of(), SETPRIV, Optional.empty(), HOST);
        assertEquals(Optional.empty(), p.cgroup());
    }

    @Test
    void errors() {
        assertEquals("--cgroup needs cgroup v2 mounted (no cgroup2 in /proc/self/mountinfo): mount -t cgroup2 none /sys/fs/cgroup",
                assertThrows(JailerException.class, () -> JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a",
                    "--uid", "1", "--gid", "1", "--cgroup", "pids.max=3", "--", "-kernel", "/k"}), JAVA, LIBS, List.of(),
                    SETPRIV, Optional.empty(), HOST)).getMessage());
        assertTrue(assertThrows(JailerException.class, () -> JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a",
            "--uid", "1", "--gid", "1", "--", "-kernel", "/k"}), List.of("java", "-cp", "x", "Main"), LIBS, List.of(),
            SETPRIV, Optional.empty(), HOST)).getMessage().startsWith("the launcher gave no usable java command"));
        assertEquals("/dev/vhost-vsock is missing on this host (the VM needs it)", assertThrows(JailerException.class,
                () -> JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1", "--gid", "1", "--",
                    "-kernel", "/k", "-device", "vhost-vsock-pci,id=v,guest-cid=3"}), JAVA, LIBS, List.of(), SETPRIV,
                    Optional.empty(), host(Map.of("/dev/kvm", 0L, "/dev/null", 0L, "/dev/urandom", 0L,
                        "/dev/random", 0L)))).getMessage());
    }

    @Test
    void lddOutput() {
        String out = "/usr/bin/setpriv:\n\tlinux-vdso.so.1 (0x00007ffd)\n"
                + "\tlibcap-ng.so.0 => /lib/x86_64-linux-gnu/libcap-ng.so.0 (0x00007f90)\n"
                + "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f90)\n"
                + "\t/lib64/ld-linux-x86-64.so.2 (0x00007f90)\n"
                + "/opt/x/libawt_xawt.so:\n\tlibX11.so.6 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n"
                + "/opt/x/README:\n\tnot a dynamic executable\n";
        assertEquals(paths("/lib/x86_64-linux-gnu/libcap-ng.so.0", "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"), Jailer.parseLdd(out));
    }

    /** The stage script is valid sh, and every argument reaches the VMM byte for byte through its quoting. */
    @Test
    void stageScript(@TempDir Path tmp) throws Exception {
        JailPlan p = plan(FULL);
        Path script = tmp.resolve("stage.sh");
        String text = StageScript.render(p, script, Path.of("/usr/bin/umount"));
        List<String> lines = StageScript.lines(text);
        assertTrue(lines.contains("  echo 0 > '/sys/fs/cgroup/mesovirt/vm1/cgroup.procs'"), text);
        assertTrue(lines.contains("  exec prlimit --nofile=2048:2048 -- nsenter --net='/run/netns/n' -- unshare --mount"
                + " --pid --ipc --uts --fork --kill-child --propagation private -- /bin/sh '" + script + "' inner"), text);
        assertTrue(lines.contains("mount --bind -o ro,nosuid,nodev '/usr/lib/jvm/jdk' \"$R\"'/usr/lib/jvm/jdk'"), text);
        assertTrue(lines.contains("mount --bind -o nosuid '/img/disk.img' \"$R\"'/vm/disk.img'"), text);
        assertTrue(lines.contains("pivot_root . '.old-root'"), text);
        assertTrue(lines.contains("LD_LIBRARY_PATH='/.old-root/lib/x86_64-linux-gnu:/.old-root/usr/lib/x86_64-linux-gnu'"
                + " '/.old-root/usr/bin/umount' -l '/.old-root'"), text);
        // The order of operations: cgroup, namespaces, mounts, pivot_root, umount of the old root, privilege drop.
        int cg = text.indexOf("cgroup.procs");
        int limits = text.indexOf("prlimit");
        int ns = text.indexOf("unshare --mount");
        int mnt = text.indexOf("mount --bind \"$R\" \"$R\"");
        int proc = text.indexOf("mount -t proc");
        int pivot = text.indexOf("pivot_root");
        int umount = text.indexOf("umount' -l");
        int exec = text.indexOf("exec '/usr/bin/setpriv'");
        assertTrue(cg < limits && limits < ns && ns < mnt && mnt < proc && proc < pivot && pivot < umount && umount < exec, text);

        Files.writeString(script, text);
        assertEquals(0, run("sh", "-n", script.toString()), "sh -n " + script);
        // The exec line, with printf in place of setpriv, prints the arguments one per line.
        String exec2 = lines.getLast().replaceFirst("^exec '/usr/bin/setpriv'", "printf '%s\\\\n'");
        Path echo = tmp.resolve("echo.sh");
        Files.writeString(echo, exec2 + "\n");
        Process pr = new ProcessBuilder("sh", echo.toString()).redirectErrorStream(true).start();
        List<String> got = List.of(new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        assertEquals(0, pr.waitFor());
        assertEquals(p.command().subList(1, p.command().size()), got);
    }

    /**
     * Descriptors the caller opened (fds=, fd=, vhostfd=) go to the VMM at their numbers; the jail then needs no
     * /dev/net/tun or /dev/vhost-vsock for them; the options reach the VMM unchanged.
     */
    @Test
    void passedDescriptors() throws Exception {
        String[] args = {"-kernel", "/img/vmlinuz", "-netdev", "tap,id=n0,fds=7", "-device",
            "virtio-net-device,netdev=n0,id=net0", "-device", "vhost-vsock-device,id=v0,guest-cid=3,vhostfd=8"};
        JailPlan p = plan(args);
        assertEquals(List.of(7, 8), p.descriptors());
        assertEquals(paths("/dev/kvm", "/dev/null", "/dev/urandom", "/dev/random"),
                p.nodes().stream().map(Node::path).toList());
        assertEquals(List.of(args).subList(2, args.length), p.command().subList(p.command().size() - 6, p.command().size()));
        assertEquals(List.of(7), plan("-kernel", "/k", "-netdev", "tap,id=n0,fd=7").descriptors(), "QEMU's fd=");
        // A TAP by name still gets /dev/net/tun, next to a passed one.
        assertEquals(List.of(7), plan("-kernel", "/k", "-netdev", "tap,id=n0,fds=7", "-netdev", "tap,id=n1,ifname=t1")
                .descriptors());
        assertTrue(plan("-kernel", "/k", "-netdev", "tap,id=n0,fds=7", "-netdev", "tap,id=n1,ifname=t1").nodes()
                .stream().anyMatch(n -> n.path().equals(Path.of("/dev/net/tun"))));
        assertEquals(List.of(), plan(FULL).descriptors());
    }

    @Test
    void namedDescriptors() {
        assertEquals(java.util.Set.of(3, 4, 7, 9), JailPlanner.namedDescriptors(List.of("-kernel", "/k", "-netdev",
                "tap,id=n0,fds=3:4", "-netdev", "tap,id=n1,fd=7", "--device", "vhost-vsock-pci,id=v,vhostfd=9,guest-cid=3",
                "-netdev", "tap,id=n2,ifname=t", "-device", "virtio-net-device,netdev=n0", "-append", "fd=5")));
        assertEquals(java.util.Set.of(), JailPlanner.namedDescriptors(List.of("-netdev", "tap,id=n0,fds=x")));
    }

    @Test
    void descriptorErrors() {
        assertEquals("-netdev tap,id=n0,fds=3: descriptor 3 is not open in the jailer",
                assertThrows(JailerException.class, () -> plan("-kernel", "/k", "-netdev", "tap,id=n0,fds=3")).getMessage());
        assertEquals("-netdev tap,id=n0,fds=7:9: descriptor 9 is not a character device (a TAP's /dev/net/tun or a"
                + " macvtap, /dev/vhost-vsock)", assertThrows(JailerException.class,
                        () -> plan("-kernel", "/k", "-netdev", "tap,id=n0,fds=7:9")).getMessage());
        assertEquals("-netdev tap,id=n0,fd=x: fd=x is not a descriptor number",
                assertThrows(JailerException.class, () -> plan("-kernel", "/k", "-netdev", "tap,id=n0,fd=x")).getMessage());
        assertEquals("-device vhost-vsock-pci,id=v,guest-cid=3,vhostfd=1: vhostfd=1: 0, 1 and 2 are the VMM's stdin,"
                + " stdout and stderr", assertThrows(JailerException.class, () -> plan("-kernel", "/k", "-device",
                        "vhost-vsock-pci,id=v,guest-cid=3,vhostfd=1")).getMessage());
        assertEquals("-device vhost-vsock-device,id=v,guest-cid=3,vhostfd=: vhostfd= is not a descriptor number",
                assertThrows(JailerException.class, () -> plan("-kernel", "/k", "-device",
                        "vhost-vsock-device,id=v,guest-cid=3,vhostfd=")).getMessage());
    }

    /** The jailer's own look at its descriptors, through /proc/self/fd. */
    @Test
    void realDescriptors(@TempDir Path tmp) throws Exception {
        int devNull = dev.mesovirt.vmm.sys.Sys.open("/dev/null", 0);
        int file = dev.mesovirt.vmm.sys.Sys.open(Files.writeString(tmp.resolve("f"), "x").toString(), 0);
        try {
            assertEquals(OptionalLong.of(dev(1, 3)), Jailer.HOST.descriptorRdev(devNull));
            assertEquals(OptionalLong.empty(), Jailer.HOST.descriptorRdev(file));
        } finally {
            dev.mesovirt.vmm.sys.Sys.close(devNull);
            dev.mesovirt.vmm.sys.Sys.close(file);
        }
        assertEquals("descriptor " + devNull + " is not open in the jailer (pass it open and without close-on-exec)",
                assertThrows(JailerException.class, () -> Jailer.HOST.descriptorRdev(devNull)).getMessage());
    }

    @Test
    void keptCapabilities() throws Exception {
        JailPlan p = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1", "--gid", "1",
            "--capability", "CAP_NET_ADMIN", "-capability", "cap_sys_nice,net_admin", "--", "-kernel", "/k"}), JAVA,
            LIBS, List.of(), SETPRIV, Optional.empty(), HOST);
        assertEquals(List.of("/usr/bin/setpriv", "--reuid=1", "--regid=1", "--clear-groups",
                "--inh-caps=-all,+net_admin,+sys_nice", "--ambient-caps=-all,+net_admin,+sys_nice",
                "--bounding-set=-all,+net_admin,+sys_nice", "--no-new-privs", "--pdeathsig=SIGKILL", "--"),
                p.command().subList(0, 10));
    }

    /**
     * The setpriv words for capabilities, run for real when this test runs as root (they need it): the kept
     * capability is in every set of the program setpriv starts, as uid 1000, and nothing else is.
     */
    @Test
    void setprivKeepsTheCapability(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t"),
                "needs root");
        JailPlan p = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1000", "--gid", "1000",
            "--capability", "CAP_NET_ADMIN", "--", "-kernel", "/k"}), JAVA, LIBS, List.of(), SETPRIV, Optional.empty(),
            HOST);
        List<String> cmd = new ArrayList<>(p.command().subList(0, p.command().indexOf("--") + 1));
        cmd.addAll(List.of("/bin/grep", "-E", "^(Uid|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):", "/proc/self/status"));
        Process pr = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, pr.waitFor(), out);
        String netAdmin = String.format("%016x", 1L << 12);
        assertEquals("Uid:\t1000\t1000\t1000\t1000\nCapInh:\t" + netAdmin + "\nCapPrm:\t" + netAdmin + "\nCapEff:\t"
                + netAdmin + "\nCapBnd:\t" + netAdmin + "\nCapAmb:\t" + netAdmin + "\nNoNewPrivs:\t1\n", out);
    }

    @Test
    void numaNode() throws Exception {
        JailPlan p = plan("-kernel", "/k");
        assertTrue(p.cgroup().orElseThrow().limits().stream().noneMatch(w -> w.file().endsWith("cpuset.mems")));
        JailPlan.Cgroup c = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "vm1", "--uid", "1", "--gid", "1",
            "-numa", "1", "--", "-kernel", "/k"}), JAVA, LIBS, List.of(), SETPRIV, Optional.of(Path.of("/sys/fs/cgroup")),
            HOST).cgroup().orElseThrow();
        assertEquals(List.of(new Write(Path.of("/sys/fs/cgroup/mesovirt/vm1/cpuset.mems"), "1")), c.limits());
        assertEquals(new Write(Path.of("/sys/fs/cgroup/cgroup.subtree_control"), "+cpuset"), c.controllers().getFirst());
    }

    /** ozone's -source_file: bound read-only at /vm/NAME, a directory as a directory; named again, bound once. */
    @Test
    void sourceFiles() throws Exception {
        JailPlan p = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1", "--gid", "1",
            "-source_file", "/img/vmlinuz", "/img/dir", "--source-file", "/img/disk.img", "--", "-kernel", "/img/vmlinuz",
            "-drive", "id=d0,file=/img/disk.img", "-initrd", "/other/vmlinuz"}), JAVA, LIBS, List.of(), SETPRIV,
            Optional.empty(), HOST);
        List<Bind> vm = p.binds().stream().filter(b -> b.target().startsWith("/vm")).toList();
        assertEquals(List.of(new Bind(Path.of("/img/vmlinuz"), Path.of("/vm/vmlinuz"), false, true),
                new Bind(Path.of("/img/dir"), Path.of("/vm/dir"), true, true),
                // the writable disk makes its bind writable
                new Bind(Path.of("/img/disk.img"), Path.of("/vm/disk.img"), false, false),
                new Bind(Path.of("/other/vmlinuz"), Path.of("/vm/2-vmlinuz"), false, true)), vm);
        assertEquals(List.of("-kernel", "/vm/vmlinuz", "-drive", "id=d0,file=/vm/disk.img", "-initrd", "/vm/2-vmlinuz"),
                p.command().subList(p.command().size() - 6, p.command().size()));
    }

    @Test
    void resourceLimits() throws Exception {
        assertEquals(List.of(new Rlimit("nofile", 2048)), plan("-kernel", "/k").rlimits(), "Firecracker's default");
        JailPlan p = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1", "--gid", "1",
            "--resource-limit", "fsize=1048576", "--resource-limit=no-file=300", "--", "-kernel", "/k"}), JAVA, LIBS,
            List.of(), SETPRIV, Optional.empty(), HOST);
        assertEquals(List.of(new Rlimit("nofile", 300), new Rlimit("fsize", 1048576)), p.rlimits());
    }

    /** The stage's prlimit words, run for real here: the limits reach the command it runs, soft and hard. */
    @Test
    void prlimitAsTheStageWritesIt(@TempDir Path tmp) throws Exception {
        JailPlan p = JailPlanner.plan(JailerOptions.parse(new String[] {"--id", "a", "--uid", "1", "--gid", "1",
            "--resource-limit", "fsize=1048576", "--resource-limit", "no-file=300", "--", "-kernel", "/k"}), JAVA, LIBS,
            List.of(), SETPRIV, Optional.empty(), HOST);
        String outer = StageScript.lines(StageScript.render(p, tmp.resolve("s.sh"), Path.of("/usr/bin/umount"))).stream()
                .filter(l -> l.startsWith("  exec prlimit ")).findFirst().orElseThrow();
        String prlimit = outer.substring("  exec ".length(), outer.indexOf(" -- ") + 4);
        Path out = tmp.resolve("limits");
        Files.writeString(tmp.resolve("t.sh"), prlimit + "cat /proc/self/limits > '" + out + "'\n");
        assertEquals(0, run("sh", tmp.resolve("t.sh").toString()), prlimit);
        List<String> limits = Files.readAllLines(out);
        assertTrue(limits.stream().anyMatch(l -> l.matches("Max open files +300 +300 +files *")), limits.toString());
        assertTrue(limits.stream().anyMatch(l -> l.matches("Max file size +1048576 +1048576 +bytes *")),
                limits.toString());
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        return new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }
}
