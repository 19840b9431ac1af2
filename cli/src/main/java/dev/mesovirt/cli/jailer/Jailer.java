package dev.mesovirt.cli.jailer;

import dev.mesovirt.cli.jailer.JailPlan.Bind;
import dev.mesovirt.cli.jailer.JailPlan.Link;
import dev.mesovirt.cli.jailer.JailPlan.Node;
import dev.mesovirt.cli.jailer.JailPlan.Write;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.Spawn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * mesovirt-jailer: prepares the jail and the cgroup of one VM, starts the VMM in it through {@link StageScript},
 * waits for it, removes the jail, the cgroup and the socket links, and exits with the VMM's exit code.
 */
public final class Jailer {
    static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    static final Path UMOUNT = Path.of("/usr/bin/umount");
    static final Path LDD = Path.of("/usr/bin/ldd");
    static final Path PRLIMIT = Path.of("/usr/bin/prlimit");
    private static final int SIGKILL = 9;
    /** A daemon's pid, in the jail directory (not in the jail): SIGTERM to it stops the VM and cleans up. */
    static final String PID_FILE = "jailer.pid";
    static final List<String> JDK_LIBRARIES = List.of("lib/server/libjvm.so", "lib/libjli.so", "lib/libjava.so",
            "lib/libjimage.so", "lib/libzip.so", "lib/libnio.so", "lib/libnet.so", "lib/libextnet.so");

    private static final java.util.Set<Path> CLEANED = new java.util.HashSet<>();

    private Jailer() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        JailerOptions options;
        Optional<Daemon.Channel> daemon;
        try {
            options = JailerOptions.parse(args);
            daemon = Daemon.Channel.fromEnvironment();
        } catch (JailerException.Help h) {
            System.out.print(JailerOptions.USAGE);
            return 0;
        } catch (JailerException e) {
            System.err.println("mesovirt-jailer: " + e.getMessage());
            return 1;
        }
        if (options.daemonize() && daemon.isEmpty()) {
            return Daemon.start(options);
        }
        JailPlan plan = null;
        int stage = -1;
        CountDownLatch reaped = new CountDownLatch(1);
        try {
            if (!status("Uid").startsWith("0\t")) {
                throw new JailerException("must run as root (it mounts, creates device nodes and cgroups)");
            }
            for (Path tool : List.of(SETPRIV, UMOUNT, LDD, PRLIMIT)) {
                if (!Files.isExecutable(tool)) {
                    throw new JailerException(tool + " is missing (util-linux / libc-bin)");
                }
            }
            Path exec = options.execFile().orElseGet(Jailer::launcherBeside);
            List<String> java = javaCommand(exec);
            Path jdk = Path.of(java.getFirst()).normalize().getParent().getParent();
            List<Path> inputs = new ArrayList<>();
            inputs.add(Path.of(java.getFirst()));
            // The JVM and the JDK's native libraries a headless VMM loads (all of the JDK's would bring X11 and ALSA
            // into the jail, and ldd took 8 s over them); any other JDK library needs no more than these do.
            for (String name : JDK_LIBRARIES) {
                if (Files.exists(jdk.resolve(name))) {
                    inputs.add(jdk.resolve(name));
                }
            }
            for (String a : java) {
                if (a.startsWith("-Djna.boot.library.path=")) {
                    inputs.add(Path.of(a.substring(a.indexOf('=') + 1), "libjnidispatch.so"));
                }
            }
            inputs.add(SETPRIV);
            plan = JailPlanner.plan(options, java, libraries(inputs), libraries(List.of(UMOUNT)), SETPRIV,
                    cgroupMount(), HOST);
            if (Files.exists(plan.jailDir(), LinkOption.NOFOLLOW_LINKS)) {
                JailPlan p = plan;
                plan = null; // not ours: leave it
                throw new JailerException(p.jailDir() + " exists: another VM with id " + options.id()
                        + " runs, or a jail was left over (remove it)");
            }
            prepare(plan);
            Path script = plan.jailDir().resolve("stage.sh");
            Files.writeString(script, StageScript.render(plan, script, UMOUNT));
            Map<String, String> env = new HashMap<>();
            for (String k : List.of("TERM", "LANG", "MESOVIRT_LOG")) {
                if (System.getenv(k) != null) {
                    env.put(k, System.getenv(k));
                }
            }
            env.put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            // posix_spawn, not ProcessBuilder: only it leaves the descriptors of the plan open in the child.
            stage = Spawn.start(List.of("/bin/sh", script.toString(), "outer"), env, plan.descriptors(),
                    new Spawn.Inherit(), false);
            // The descriptors are the VMM's now. A copy left open here would keep the TAP and the vhost device
            // alive after the VMM, and a vhost device's kernel worker sits in the VM's cgroup: it could not go.
            for (int fd : plan.descriptors()) {
                Fds.closeQuietly(fd);
            }
            // On SIGTERM/SIGINT the JVM runs its hooks and halts without finishing this method: the hook stops the
            // VMM (SIGKILL to unshare, which --kill-child passes on to the VMM), lets this thread reap it and cleans
            // up.
            int started = stage;
            JailPlan jail = plan;
            Thread hook = new Thread(() -> {
                try {
                    Spawn.kill(started, SIGKILL);
                    reaped.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    System.err.println("mesovirt-jailer: " + e.getMessage());
                }
                cleanUp(jail);
            }, "jailer-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            OptionalInt early = OptionalInt.empty();
            if (daemon.isPresent()) {
                Files.writeString(plan.jailDir().resolve(PID_FILE), ProcessHandle.current().pid() + "\n");
                early = awaitReady(plan, stage, daemon.get());
            }
            int rc = early.isPresent() ? early.getAsInt() : Spawn.waitFor(stage);
            reaped.countDown();
            if (daemon.isPresent()) {
                System.err.println("mesovirt-jailer: " + options.id() + ": the VMM ended with status " + rc);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook cleans up
            }
            return rc;
        } catch (JailerException e) {
            return fail(daemon, e.getMessage());
        } catch (IOException | UncheckedIOException | ErrnoException e) {
            return fail(daemon, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail(daemon, "interrupted");
        } finally {
            if (stage > 0 && reaped.getCount() > 0) {
                Spawn.kill(stage, SIGKILL);
                Spawn.waitFor(stage);
            }
            if (plan != null) {
                cleanUp(plan);
            }
        }
    }

    /** A set-up error: one line on stderr and, for a daemon, to the caller waiting for its word. */
    private static int fail(Optional<Daemon.Channel> daemon, String message) {
        System.err.println("mesovirt-jailer: " + message);
        daemon.ifPresent(d -> d.error(message));
        return 1;
    }

    /**
     * A daemon's wait until the VMM listens on every socket the options create (a client may connect once the
     * caller returns), or until the stage ends first: then its exit code, reaped, which is also the caller's word.
     */
    private static OptionalInt awaitReady(JailPlan plan, int stage, Daemon.Channel daemon)
            throws IOException, InterruptedException {
        while (true) {
            OptionalInt ended = Spawn.poll(stage);
            if (ended.isPresent()) {
                daemon.exit(ended.getAsInt());
                return ended;
            }
            boolean listening = true;
            for (Link l : plan.links()) {
                listening &= isSocket(l.target());
            }
            if (listening) {
                daemon.ready();
                return OptionalInt.empty();
            }
            Thread.sleep(20);
        }
    }

    /** bin/mesovirt of the distribution this class was loaded from (its jars are in lib/, next to bin/). */
    private static Path launcherBeside() {
        try {
            Path jar = Path.of(Jailer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().getParent().resolve("bin").resolve("mesovirt").toAbsolutePath();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The launcher's JVM command (bin/mesovirt's MESOVIRT_PRINT_COMMAND). */
    private static List<String> javaCommand(Path exec) throws JailerException, IOException, InterruptedException {
        if (!Files.isExecutable(exec)) {
            throw new JailerException("--exec-file " + exec + ": not an executable mesovirt launcher");
        }
        ProcessBuilder pb = new ProcessBuilder(exec.toString()).redirectErrorStream(true);
        pb.environment().put("MESOVIRT_PRINT_COMMAND", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0 || !out.endsWith("\0")) {
            throw new JailerException(exec + " gave no java command: " + out.strip());
        }
        return List.of(out.substring(0, out.length() - 1).split("\0", -1));
    }

    /** The shared libraries the files load, from ldd (absolute paths; "not found" ones are skipped). */
    private static List<Path> libraries(List<Path> files) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LDD.toString());
        for (Path f : files) {
            cmd.add(f.toString());
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(); // non-zero when one of them is not dynamic: its lines say so and are skipped
        return parseLdd(out);
    }

    static List<Path> parseLdd(String out) {
        List<Path> libs = new ArrayList<>();
        for (String line : out.split("\n")) {
            String t = line.strip();
            int arrow = t.indexOf("=> ");
            String path = arrow >= 0 ? t.substring(arrow + 3) : t;
            int paren = path.indexOf(" (0x");
            if (paren >= 0) {
                path = path.substring(0, paren);
            }
            if (path.startsWith("/") && !path.endsWith(":") && !libs.contains(Path.of(path))) {
                libs.add(Path.of(path));
            }
        }
        return libs;
    }

    /** The first cgroup2 mount point in /proc/self/mountinfo. */
    private static Optional<Path> cgroupMount() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = java.util.Arrays.asList(f).indexOf("-");
            if (dash > 0 && dash + 1 < f.length && f[dash + 1].equals("cgroup2")) {
                return Optional.of(Path.of(f[4].replace("\\040", " ")));
            }
        }
        return Optional.empty();
    }

    static final JailPlanner.Host HOST = new JailPlanner.Host() {
        @Override
        public long rdev(Path device) throws JailerException {
            return Jailer.rdev(device);
        }

        @Override
        public OptionalLong descriptorRdev(int fd) throws JailerException {
            Path p = Path.of("/proc/self/fd/" + fd);
            try {
                if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new JailerException("descriptor " + fd + " is not open in the jailer (pass it open and"
                            + " without close-on-exec)");
                }
                // stat through the magic link: the open file itself
                if (((Integer) Files.getAttribute(p, "unix:mode") & 0170000) != 0020000) {
                    return OptionalLong.empty();
                }
                return OptionalLong.of((Long) Files.getAttribute(p, "unix:rdev"));
            } catch (IOException e) {
                throw new JailerException("descriptor " + fd + ": " + e.getMessage());
            }
        }

        @Override
        public boolean isDirectory(Path path) {
            return Files.isDirectory(path);
        }
    };

    private static long rdev(Path device) throws JailerException {
        try {
            if (!Files.isRegularFile(device) && !Files.isDirectory(device)
                    && Files.getAttribute(device, "unix:mode") instanceof Integer mode && (mode & 0170000) == 0020000) {
                return (Long) Files.getAttribute(device, "unix:rdev");
            }
            throw new JailerException(device + " is not a character device");
        } catch (NoSuchFileException e) {
            throw new JailerException(device + " is missing on this host (the VM needs it)");
        } catch (IOException e) {
            throw new JailerException(device + ": " + e.getMessage());
        }
    }

    /** Everything outside the new namespaces: the jail's directories, nodes and mount points, the cgroup, links. */
    private static void prepare(JailPlan plan) throws IOException, JailerException, InterruptedException {
        for (Bind b : plan.binds()) {
            if (!Files.exists(b.source()) && !plan.outputs().contains(b.source())) {
                throw new JailerException(b.source() + ": no such file (the VM needs it in its jail)");
            }
        }
        Files.createDirectories(plan.jailDir().getParent());
        Files.createDirectory(plan.jailDir(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        mkdir(plan.root(), "rwxr-xr-x");
        for (Path d : plan.ownedDirs()) { // top-level directories: first
            mkdir(plan.host(d), "rwx------");
            chown(plan.host(d), plan);
        }
        for (Path d : plan.dirs()) {
            mkdir(plan.host(d), "rwxr-xr-x");
        }
        for (Node n : plan.nodes()) {
            Path p = plan.host(n.path());
            command("mknod", "-m", n.owned() ? "0600" : "0666", p.toString(), "c", Integer.toString(n.major()),
                    Integer.toString(n.minor()));
            if (n.owned()) {
                chown(p, plan);
            }
        }
        for (Bind b : plan.binds()) {
            Path t = plan.host(b.target());
            if (b.directory()) {
                Files.createDirectories(t);
            } else if (!Files.exists(t)) {
                Files.createFile(t);
            }
        }
        for (Path out : plan.outputs()) {
            if (!Files.exists(out)) {
                Files.createFile(out);
                chown(out, plan);
            }
        }
        for (Link l : plan.links()) {
            if (Files.isSymbolicLink(l.link()) || isSocket(l.link())) {
                Files.delete(l.link()); // a stale socket or link of an earlier run, as the VMM would replace it
            } else if (Files.exists(l.link())) {
                throw new JailerException(l.link() + " exists and is not a socket: the VM's socket link goes there");
            }
            Files.createSymbolicLink(l.link(), l.target());
        }
        if (plan.cgroup().isPresent()) {
            JailPlan.Cgroup c = plan.cgroup().get();
            for (Path d : c.created()) {
                if (d.equals(c.dir()) && Files.exists(d)) {
                    throw new JailerException("cgroup " + d + " exists: another VM with this id runs, or it was left over");
                }
                if (!Files.isDirectory(d)) {
                    Files.createDirectory(d);
                }
            }
            for (Write w : c.controllers()) {
                write(w, "enable the controllers");
            }
            for (Write w : c.limits()) {
                write(w, "set the limit");
            }
        }
    }

    private static boolean isSocket(Path p) throws IOException {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS)
                && ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000) == 0140000;
    }

    private static void write(Write w, String what) throws JailerException {
        try {
            Files.writeString(w.file(), w.value());
        } catch (IOException e) {
            throw new JailerException("cannot " + what + ": " + w.value() + " > " + w.file() + ": " + e.getMessage());
        }
    }

    private static void mkdir(Path p, String mode) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(p);
        }
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    private static void chown(Path p, JailPlan plan) throws IOException {
        Files.setAttribute(p, "unix:uid", plan.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", plan.gid(), LinkOption.NOFOLLOW_LINKS);
    }

    private static void command(String... cmd) throws IOException, InterruptedException, JailerException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new JailerException(String.join(" ", cmd) + ": " + out.strip());
        }
    }

    /**
     * Removes the links, the cgroup (once its processes are gone) and the jail. The jail's mounts lived in the VMM's
     * mount namespace, which ended with it; a mount still seen under the jail here stops the removal (nothing under
     * a mount is deleted).
     */
    static void cleanUp(JailPlan plan) {
        // The main thread and the shutdown hook may both get here: the second waits until the first is done (the JVM
        // halts once the hook returns, which would cut the main thread's cleanup short).
        synchronized (CLEANED) {
            if (CLEANED.add(plan.jailDir())) {
                removeAll(plan);
            }
        }
    }

    private static void removeAll(JailPlan plan) {
        for (Link l : plan.links()) {
            try {
                if (Files.isSymbolicLink(l.link()) && Files.readSymbolicLink(l.link()).equals(l.target())) {
                    Files.delete(l.link());
                }
            } catch (IOException e) {
                System.err.println("mesovirt-jailer: cannot remove " + l.link() + ": " + e.getMessage());
            }
        }
        plan.cgroup().ifPresent(c -> {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (true) {
                try {
                    Files.deleteIfExists(c.dir());
                    break;
                } catch (IOException e) {
                    // EBUSY while the VMM's last processes are being reaped
                    if (System.nanoTime() > deadline) {
                        System.err.println("mesovirt-jailer: cannot remove cgroup " + c.dir() + ": " + e.getMessage());
                        break;
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
        });
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String mountPoint = line.split(" ")[4];
                if (Path.of(mountPoint).startsWith(plan.jailDir())) {
                    System.err.println("mesovirt-jailer: " + mountPoint + " is mounted: " + plan.jailDir() + " left in place");
                    return;
                }
            }
            if (Files.exists(plan.jailDir(), LinkOption.NOFOLLOW_LINKS)) {
                Files.walkFileTree(plan.jailDir(), new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                        Files.delete(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                        if (e != null) {
                            throw e;
                        }
                        Files.delete(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
            }
        } catch (IOException e) {
            System.err.println("mesovirt-jailer: cannot remove " + plan.jailDir() + ": " + e.getMessage());
        }
    }

    /** A line of /proc/self/status, without its key: "0\t0\t0\t0" for Uid. */
    private static String status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key + ":")) {
                return line.substring(key.length() + 1).strip();
            }
        }
        return "";
    }
}
