package dev.mesovirt.vmm.machine;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpCommands;
import dev.mesovirt.vmm.qmp.QmpException;
import dev.mesovirt.vmm.qmp.QmpServer;
import dev.mesovirt.vmm.qmp.QmpVersion;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.virtio.BlockSizes;
import dev.mesovirt.vmm.virtio.NetDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A machine's QMP commands (StratoVirt's set, with QEMU's reply shapes) and events, over a {@link QmpServer}: life
 * cycle (stop, cont, quit, system_reset, system_powerdown), queries, the backends hot-plugged devices are built on
 * (blockdev-add, netdev_add with a TAP by name or passed with getfd), and device_add and device_del, which the
 * machine's {@link DeviceHotplug} carries out (the microVM's replaceable virtio-mmio slots; PCI hot-plug on the
 * standard machine). Nothing here depends on the machine type or the ISA.
 *
 * <p>Commands run on the QMP client thread; each machine call they make returns promptly (pause waits at most 5 s
 * for the vCPUs to park).
 */
public final class MachineQmp {
    /** The events a machine emits (query-events). */
    static final List<String> EVENTS = List.of("SHUTDOWN", "STOP", "RESUME", "RESET", "POWERDOWN", "DEVICE_DELETED");

    private final Machine machine;
    private final DeviceHotplug hotplug;
    private final QmpServer server;
    private final Path socket;
    /** blockdev-add'ed drives by node-name, attached or not. */
    private final Map<String, Drive> drives = new LinkedHashMap<>();
    /** blockdev-add's file drivers: QEMU's file-posix on a regular file, and on a host block device. */
    private static final String FILE_DRIVER = "file";
    private static final String HOST_DEVICE_DRIVER = "host_device";
    /** file.aio: QEMU's BlockdevAioOptions, and StratoVirt's "off" (synchronous I/O). */
    private static final List<String> AIO_MODES = List.of("threads", "native", "io_uring", "off");
    /** QEMU's VIRTIO_QUEUE_MAX, the most num-queues it takes. */
    private static final long MAX_QUEUES = 1024;
    /** sys/stat.h's S_IFMT and the file types blockdev-add tells apart. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFCHR = 0020000;
    /** The Outcome.Quit reason of quit, told apart from a signal's for SHUTDOWN's cause. */
    private static final String QUIT = "QMP quit";
    /** SHUTDOWN goes out once: from quit before its reply, or from close() otherwise. */
    private final AtomicBoolean shutdownSent = new AtomicBoolean();
    /** netdev_add'ed TAPs by id. */
    private final Map<String, Netdev> netdevs = new LinkedHashMap<>();

    /**
     * A TAP backend: opened by name when a device uses it, or an open TAP descriptor passed with getfd (else -1);
     * and the device using it (empty while free).
     */
    private record Netdev(Optional<String> ifname, int tapFd, Optional<String> device) {
        Netdev usedBy(Optional<String> d) {
            return new Netdev(ifname, tapFd, d);
        }
    }

    /** A block backend: its file and options, and the device using it (empty while free). */
    private record Drive(String nodeName, Path file, boolean readOnly, boolean direct, boolean noFlush,
            Optional<String> device) {
        Drive attachedTo(Optional<String> d) {
            return new Drive(nodeName, file, readOnly, direct, noFlush, d);
        }
    }

    /**
     * Starts a QMP server on {@code socket} for {@code machine} (which may still be starting: queries then report
     * "prelaunch"), whose devices {@code hotplug} adds and removes.
     */
    public static MachineQmp start(Machine machine, DeviceHotplug hotplug, Path socket, QmpVersion version) {
        MachineQmp qmp = listen(machine, hotplug, socket, version);
        qmp.serve();
        return qmp;
    }

    /**
     * Creates the QMP socket for {@code machine} without answering on it yet (see {@link QmpServer#listen()}): the
     * launcher calls {@link #serve()} once the machine runs, so that a client connecting right after start-up is
     * greeted by a running machine, as QEMU's and StratoVirt's are, rather than one still being built.
     */
    public static MachineQmp listen(Machine machine, DeviceHotplug hotplug, Path socket, QmpVersion version) {
        QmpCommands commands = new QmpCommands();
        QmpServer server = new QmpServer(socket, version, commands);
        MachineQmp qmp = new MachineQmp(machine, hotplug, server, socket);
        qmp.register(commands);
        for (VirtioConfig d : machine.config().devices()) {
            if (d instanceof VirtioConfig.Block b) {
                qmp.drives.put(b.id(), new Drive(b.id(), b.file(), b.readOnly(), b.direct(), b.noFlush(),
                        Optional.of(b.id())));
            }
        }
        server.listen();
        return qmp;
    }

    /** Starts greeting and answering clients (the first may be waiting since {@link #listen}). */
    public void serve() {
        server.serve();
    }

    private MachineQmp(Machine machine, DeviceHotplug hotplug, QmpServer server, Path socket) {
        this.machine = machine;
        this.hotplug = hotplug;
        this.server = server;
        this.socket = socket;
    }

    /**
     * Emits SHUTDOWN for how the machine ended (unless a command already did), then closes the server once the
     * last reply and event are out.
     */
    public void close(Outcome outcome) {
        if (outcome != null) {
            emitShutdown(outcome);
        }
        server.close();
        synchronized (this) {
            netdevs.values().forEach(n -> Fds.closeQuietly(n.tapFd())); // TAPs passed with getfd
            netdevs.clear();
        }
    }

    /** The SHUTDOWN event, once, with QEMU's ShutdownCause for the outcome. */
    private void emitShutdown(Outcome outcome) {
        if (shutdownSent.compareAndSet(false, true)) {
            JsonObject data = new JsonObject();
            String reason = switch (outcome) {
                case Outcome.PoweredOff p -> "guest-shutdown";
                case Outcome.Halted h -> "guest-shutdown";
                case Outcome.Rebooted r -> "guest-reset";
                case Outcome.Panicked p -> "guest-panic";
                case Outcome.Quit q -> q.reason().equals(QUIT) ? "host-qmp-quit" : "host-signal";
                case Outcome.TripleFault t -> "guest-reset"; // QEMU's cause for a triple fault (with -no-reboot)
                case Outcome.Failed f -> "host-error";
            };
            data.addProperty("guest", reason.startsWith("guest-"));
            data.addProperty("reason", reason);
            server.emit("SHUTDOWN", data);
        }
    }

    private void register(QmpCommands c) {
        EVENTS.forEach(c::registerEvent);
        machine.onGuestReset(() -> {
            // A reset the guest asked for, done in place (a firmware machine): QEMU's RESET with its cause.
            JsonObject data = new JsonObject();
            data.addProperty("guest", true);
            data.addProperty("reason", "guest-reset");
            server.emit("RESET", data);
        });
        c.register("query-status", a -> {
            a.checkUnexpected();
            RunState s = machine.runState();
            JsonObject r = new JsonObject();
            r.addProperty("status", s.qmpName());
            r.addProperty("singlestep", false);
            r.addProperty("running", s == RunState.RUNNING);
            return r;
        });
        c.register("stop", a -> {
            a.checkUnexpected();
            requireStarted();
            if (machine.runState() == RunState.RUNNING) {
                machine.pause();
                server.emit("STOP", null);
            }
            return null;
        });
        c.register("cont", a -> {
            a.checkUnexpected();
            requireStarted();
            // PAUSED after stop, or PRELAUNCH when started frozen (-S): QEMU's cont starts the vCPUs either way.
            if (machine.runState() == RunState.PAUSED || machine.runState() == RunState.PRELAUNCH) {
                machine.resume();
                server.emit("RESUME", null);
            }
            return null;
        });
        c.register("migrate", a -> {
            // StratoVirt's snapshot ("VM template"): only to a directory, only of a paused VM; done when it returns.
            String uri = a.requiredString("uri");
            a.checkUnexpected();
            if (!uri.startsWith("file:") || uri.length() == "file:".length()) {
                throw new QmpException(QmpException.GENERIC_ERROR, "migrate: only uri file:DIR is supported, not "
                        + uri);
            }
            requireStarted();
            try {
                machine.snapshot(Path.of(uri.substring("file:".length())));
            } catch (dev.mesovirt.vmm.snapshot.SnapshotException | java.nio.file.InvalidPathException e) {
                throw new QmpException(QmpException.GENERIC_ERROR, e.getMessage());
            }
            return null;
        });
        c.register("query-migrate", a -> {
            a.checkUnexpected();
            JsonObject r = new JsonObject();
            Machine.MigrationStatus st = machine.migrationStatus();
            if (st != Machine.MigrationStatus.NONE) {
                r.addProperty("status", st.qmpName());
            }
            return r;
        });
        c.register("quit", a -> {
            a.checkUnexpected();
            // QEMU's order: the SHUTDOWN event, then the reply; the VM stops as the reply goes out.
            emitShutdown(new Outcome.Quit(QUIT));
            machine.stop(new Outcome.Quit(QUIT));
            return null;
        });
        c.register("system_reset", a -> {
            a.checkUnexpected();
            requireStarted();
            // In place, as QEMU does: the guest boots again in the same process with the same devices (see
            // Machine.reset); RESET follows, as QEMU emits it once the reset has happened.
            try {
                machine.reset();
            } catch (MachineException e) {
                throw QmpException.generic(e.getMessage());
            }
            JsonObject data = new JsonObject();
            data.addProperty("guest", false);
            data.addProperty("reason", "host-qmp-system-reset");
            server.emit("RESET", data);
            return null;
        });
        c.register("system_powerdown", a -> {
            a.checkUnexpected();
            requireStarted();
            try {
                machine.powerDown();
            } catch (IllegalStateException e) {
                throw QmpException.generic("system_powerdown: " + e.getMessage());
            }
            server.emit("POWERDOWN", null);
            return null;
        });
        c.register("query-cpus-fast", a -> {
            a.checkUnexpected();
            JsonArray out = new JsonArray();
            int[] tids = machine.vcpuThreadIds();
            for (int i = 0; i < machine.config().vcpus(); i++) {
                JsonObject cpu = new JsonObject();
                cpu.addProperty("thread-id", i < tids.length ? tids[i] : 0);
                cpu.add("props", cpuProps(i));
                cpu.addProperty("qom-path", "/machine/unattached/device[" + i + "]");
                cpu.addProperty("cpu-index", i);
                cpu.addProperty("target", machine.architecture().name());
                out.add(cpu);
            }
            return out;
        });
        c.register("query-cpus", a -> {
            a.checkUnexpected();
            // Removed from QEMU in 6.0; StratoVirt still answers it, with this shape.
            JsonArray out = new JsonArray();
            int[] tids = machine.vcpuThreadIds();
            for (int i = 0; i < machine.config().vcpus(); i++) {
                JsonObject cpu = new JsonObject();
                cpu.addProperty("CPU", i);
                cpu.addProperty("arch", machine.architecture().qmpCpuArch());
                cpu.addProperty("current", i == 0);
                cpu.addProperty("halted", false);
                cpu.add("props", cpuProps(i));
                cpu.addProperty("qom_path", "/machine/unattached/device[" + i + "]");
                cpu.addProperty("thread_id", i < tids.length ? tids[i] : 0);
                out.add(cpu);
            }
            return out;
        });
        c.register("query-hotpluggable-cpus", a -> {
            a.checkUnexpected();
            JsonArray out = new JsonArray();
            for (int i = 0; i < machine.config().vcpus(); i++) {
                JsonObject cpu = new JsonObject();
                cpu.add("props", cpuProps(i));
                cpu.addProperty("qom-path", "/machine/unattached/device[" + i + "]");
                cpu.addProperty("type", "host-" + machine.architecture().name() + "-cpu");
                cpu.addProperty("vcpus-count", 1);
                out.add(cpu);
            }
            return out;
        });
        c.register("query-target", a -> {
            a.checkUnexpected();
            JsonObject r = new JsonObject();
            r.addProperty("arch", machine.architecture().name());
            return r;
        });
        c.register("query-kvm", a -> {
            a.checkUnexpected();
            JsonObject r = new JsonObject();
            r.addProperty("enabled", true);
            r.addProperty("present", true);
            return r;
        });
        c.register("query-machines", a -> {
            a.checkUnexpected();
            JsonObject m = new JsonObject();
            m.addProperty("hotpluggable-cpus", false);
            m.addProperty("name", machine.typeName());
            m.addProperty("numa-mem-supported", false);
            m.addProperty("default-cpu-type", "host-" + machine.architecture().name() + "-cpu");
            m.addProperty("is-default", true);
            m.addProperty("cpu-max", MachineConfig.MAX_VCPUS);
            m.addProperty("deprecated", false);
            m.addProperty("default-ram-id", machine.typeName() + ".ram");
            JsonArray out = new JsonArray();
            out.add(m);
            return out;
        });
        c.register("query-chardev", a -> {
            a.checkUnexpected();
            JsonArray out = new JsonArray();
            out.add(chardev("compat_monitor0", "unix:" + socket + ",server=on"));
            out.add(chardev("serial0", switch (machine.config().serial()) {
                case SerialConfig.Stdio s -> "stdio";
                case SerialConfig.File f -> "file:" + f.path();
                case SerialConfig.None n -> "null";
            }));
            for (VirtioConfig d : machine.config().devices()) {
                if (d instanceof VirtioConfig.Console con) {
                    out.add(chardev(con.id(), con.socketPath().map(p -> "unix:" + p + ",server=on").orElse("stdio")));
                }
            }
            return out;
        });
        c.register("query-block", a -> {
            a.checkUnexpected();
            return queryBlock();
        });
        c.register("blockdev-add", this::blockdevAdd);
        c.register("blockdev-del", a -> {
            String node = a.requiredString("node-name");
            a.checkUnexpected();
            synchronized (this) {
                Drive d = drives.get(node);
                if (d == null) {
                    throw QmpException.generic("Failed to find node with node-name='" + node + "'");
                }
                if (d.device().isPresent()) {
                    throw QmpException.generic("Node '" + node + "' is busy: block device is in use by device '"
                            + d.device().get() + "'");
                }
                drives.remove(node);
            }
            return null;
        });
        c.register("netdev_add", a -> {
            String id = a.requiredString("id");
            Optional<String> type = a.optionalString("type");
            Optional<String> ifname = a.optionalString("ifname");
            Optional<String> fd = a.optionalString("fd");
            Optional<String> fds = a.optionalString("fds");
            a.checkUnexpected();
            if (type.isPresent() && !type.get().equals("tap")) {
                throw QmpException.generic("Parameter 'type' expects a netdev backend type (only 'tap' here)");
            }
            // QEMU's net_init_tap checks, with its texts
            if (fd.isPresent() && (ifname.isPresent() || fds.isPresent())) {
                throw QmpException.generic("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and"
                        + " vhostfds= are invalid with fd=");
            }
            if (fds.isPresent() && ifname.isPresent()) {
                throw QmpException.generic("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and"
                        + " vhostfd= are invalid with fds=");
            }
            if (ifname.isEmpty() && fd.isEmpty() && fds.isEmpty()) {
                throw QmpException.missingParameter("ifname");
            }
            synchronized (this) {
                if (netdevs.containsKey(id)) {
                    throw QmpException.generic("Duplicate ID '" + id + "' for netdev");
                }
                int tapFd = fd.isPresent() ? takeTapFd(id, fd.get(), "fd")
                        : fds.isPresent() ? takeTapFd(id, fds.get(), "fds") : -1;
                netdevs.put(id, new Netdev(ifname, tapFd, Optional.empty()));
            }
            return null;
        });
        c.register("netdev_del", a -> {
            String id = a.requiredString("id");
            a.checkUnexpected();
            synchronized (this) {
                Netdev netdev = netdevs.get(id);
                if (netdev == null) {
                    throw QmpException.deviceNotFound("Device '" + id + "' not found");
                }
                if (netdev.device().isPresent()) {
                    throw QmpException.generic("netdev '" + id + "' is in use by device '" + netdev.device().get()
                            + "'");
                }
                for (VirtioConfig d : hotplug.devices()) {
                    if (d instanceof VirtioConfig.Net && d.id().equals(id)) {
                        throw QmpException.generic("netdev '" + id + "' is in use by device '" + id + "'");
                    }
                }
                netdevs.remove(id);
                Fds.closeQuietly(netdev.tapFd()); // a passed TAP goes with its netdev, as in QEMU
            }
            return null;
        });
        c.register("device_add", this::deviceAdd);
        c.register("device_del", a -> {
            String id = a.requiredString("id");
            a.checkUnexpected();
            requireStarted();
            synchronized (this) {
                hotplug.remove(id, this::deviceRemoved);
            }
            return null;
        });
    }

    /**
     * A device is gone (at once, or later from another thread): its drive or netdev is free again, and the client
     * hears DEVICE_DELETED (before device_del's reply when the removal was immediate, as in QEMU).
     */
    private void deviceRemoved(VirtioConfig removed) {
        Optional<String> id = Optional.of(removed.id());
        synchronized (this) {
            if (removed instanceof VirtioConfig.Block) {
                drives.replaceAll((k, d) -> d.device().equals(id) ? d.attachedTo(Optional.empty()) : d);
            }
            if (removed instanceof VirtioConfig.Net) {
                netdevs.replaceAll((k, n) -> n.device().equals(id) ? n.usedBy(Optional.empty()) : n);
            }
        }
        JsonObject data = new JsonObject();
        data.addProperty("device", removed.id());
        data.addProperty("path", "/machine/peripheral/" + removed.id());
        server.emit("DEVICE_DELETED", data);
    }

    /**
     * blockdev-add of a raw image: QEMU's BlockdevOptions as Kata Containers (govmm) and StratoVirt's clients send
     * them, {@code {"driver": "raw", "node-name": N, "read-only": B, "file": {"driver": "file"|"host_device",
     * "filename": F, "aio": A}, "cache": {"direct": B, "no-flush": B}}}. The file opens at device_add; it is checked
     * here, as QEMU opens it here.
     *
     * <p>{@code aio} says how QEMU submits I/O; Mesovirt always does it synchronously on the device's thread, so the
     * value only matters as QEMU and StratoVirt agree it does: native (Linux AIO) needs O_DIRECT. Where the request
     * leaves {@code cache.direct} out, native therefore opens the image with O_DIRECT, which is StratoVirt's default
     * (govmm's ExecuteBlockdevAdd sends native without a cache member, which QEMU refuses); an explicit
     * {@code "direct": false} with native is refused with QEMU's error.
     */
    private JsonElement blockdevAdd(QmpArguments a) throws QmpException {
        String node = a.requiredString("node-name");
        QmpArguments file = a.requiredObject("file");
        Optional<QmpArguments> cache = a.optionalObject("cache");
        boolean readOnly = a.optionalBool("read-only", false);
        Optional<String> driver = a.optionalString("driver");
        a.checkUnexpected();
        if (driver.isPresent() && !driver.get().equals("raw")) {
            throw QmpException.generic("Block format '" + driver.get() + "' is not supported (only raw images)");
        }
        String filename = file.requiredString("filename");
        String fileDriver = file.optionalString("driver").orElse(FILE_DRIVER);
        Optional<String> aio = file.optionalString("aio");
        file.checkUnexpected();
        if (!fileDriver.equals(FILE_DRIVER) && !fileDriver.equals(HOST_DEVICE_DRIVER)) {
            throw QmpException.invalidParameterValue("file.driver", "'" + FILE_DRIVER + "' or '" + HOST_DEVICE_DRIVER
                    + "' (raw images on a regular file or a block device)");
        }
        if (aio.isPresent() && !AIO_MODES.contains(aio.get())) {
            throw QmpException.generic("Parameter 'file.aio' does not accept value '" + aio.get() + "'");
        }
        boolean nativeAio = aio.equals(Optional.of("native"));
        boolean direct = nativeAio;
        boolean noFlush = false;
        if (cache.isPresent()) {
            direct = cache.get().optionalBool("direct", nativeAio);
            noFlush = cache.get().optionalBool("no-flush", false);
            cache.get().checkUnexpected();
        }
        if (nativeAio && !direct) {
            throw QmpException.generic("aio=native was specified, but it requires cache.direct=on, which was not"
                    + " specified.");
        }
        Path path = Path.of(filename);
        checkImage(path, fileDriver, readOnly, direct);
        synchronized (this) {
            if (drives.containsKey(node)) {
                throw QmpException.generic("Duplicate nodes with node-name='" + node + "'");
            }
            drives.put(node, new Drive(node, path, readOnly, direct, noFlush, Optional.empty()));
        }
        return null;
    }

    /**
     * QEMU's checks of file-posix (block/file-posix.c) on the image blockdev-add names: the file driver takes a
     * regular file, host_device a block device (QEMU also takes a character device there; a disk cannot be one
     * here); and it must open as asked, O_DIRECT included.
     */
    private static void checkImage(Path path, String fileDriver, boolean readOnly, boolean direct)
            throws QmpException {
        int type;
        try {
            type = (Integer) Files.getAttribute(path, "unix:mode") & S_IFMT;
        } catch (java.nio.file.NoSuchFileException e) {
            throw QmpException.generic("Could not open '" + path + "': No such file or directory");
        } catch (java.io.IOException | UnsupportedOperationException | SecurityException e) {
            throw QmpException.generic("Could not open '" + path + "': " + e.getMessage());
        }
        if (fileDriver.equals(FILE_DRIVER) && type != S_IFREG) {
            throw QmpException.generic("'file' driver requires '" + path + "' to be a regular file");
        }
        if (fileDriver.equals(HOST_DEVICE_DRIVER) && type != S_IFBLK) {
            throw QmpException.generic("'host_device' driver requires '" + path + "' to be "
                    + (type == S_IFCHR ? "a block device (a character device cannot be a disk here)"
                    : "either a character or block device"));
        }
        if (!Files.isReadable(path) || !readOnly && !Files.isWritable(path)) {
            throw QmpException.generic("Could not open '" + path + "': Permission denied");
        }
        if (direct) {
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(path,
                    java.nio.file.StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
                ch.size();
            } catch (java.io.IOException | UnsupportedOperationException e) {
                throw QmpException.generic("Could not open '" + path + "' with O_DIRECT (cache.direct=on): "
                        + e.getMessage());
            }
        }
    }

    /**
     * device_add: the members QEMU and StratoVirt define for the virtio-blk and virtio-net devices that clients
     * such as Kata Containers send (see the README's table), each read only for the kind of device that has it, so
     * that any other member is refused as unexpected.
     */
    private JsonElement deviceAdd(QmpArguments a) throws QmpException {
        String driver = a.requiredString("driver");
        String id = a.requiredString("id");
        DeviceHotplug.Driver kind = driverNamed(driver);
        DevicePlacement placement = hotplug.placement(a);
        checkRomfile(a.optionalString("romfile"));
        // The backend a device takes: a blockdev-add drive or a netdev_add TAP, by name.
        Optional<String> backend;
        Optional<String> serial = Optional.empty();
        Optional<String> mac = Optional.empty();
        BlockSizes sizes = BlockSizes.DEFAULT;
        switch (kind.kind()) {
            case BLOCK -> {
                backend = a.optionalString("drive");
                serial = a.optionalString("serial");
                // No image locking here: a drive is always shared as share-rw=on would allow.
                a.optionalFlag("share-rw");
                checkQueues(a.optionalUnsigned("num-queues"));
                sizes = blockSizes(a.optionalUnsigned("logical_block_size"),
                        a.optionalUnsigned("physical_block_size"));
            }
            case NET -> {
                backend = a.optionalString("netdev");
                mac = a.optionalString("mac");
                // Multi-queue asks for as many queue pairs as the netdev has; a netdev here has one.
                a.optionalFlag("mq");
                // MSI-X vectors: a virtio-pci function here has one per queue and one for configuration changes,
                // whatever is asked; a virtio-mmio device has none.
                a.optionalUnsigned("vectors");
            }
            default -> throw new IllegalStateException("device kind " + kind.kind());
        }
        a.checkUnexpected();
        requireStarted();
        synchronized (this) {
            VirtioConfig config = switch (kind.kind()) {
                case BLOCK -> blockDevice(id, backend, serial, sizes, placement);
                case NET -> netDevice(id, backend, mac, placement);
            };
            hotplug.add(config);
            if (config instanceof VirtioConfig.Block) {
                drives.computeIfPresent(backend.get(), (k, d) -> d.attachedTo(Optional.of(id)));
            }
            if (config instanceof VirtioConfig.Net) {
                netdevs.computeIfPresent(backend.get(), (k, n) -> n.usedBy(Optional.of(id)));
            }
        }
        return null;
    }

    /** romfile: the option ROM of a PCI device. Mesovirt boots without firmware to run one: only "" (none) goes. */
    private static void checkRomfile(Optional<String> romfile) throws QmpException {
        if (romfile.isPresent() && !romfile.get().isEmpty()) {
            throw QmpException.generic("romfile '" + romfile.get() + "': option ROMs are not supported (there is no"
                    + " firmware to run them); give romfile \"\" or leave it out");
        }
    }

    /**
     * num-queues of a virtio-blk: QEMU's bounds (1 up to its 1024 queues); the device here serves one request
     * queue whatever is asked, as StratoVirt's microvm does.
     */
    private static void checkQueues(Optional<Long> queues) throws QmpException {
        if (queues.isPresent() && (queues.get() < 1 || queues.get() > MAX_QUEUES)) {
            throw QmpException.generic("num-queues property must be larger than 0 and at most " + MAX_QUEUES);
        }
    }

    private static BlockSizes blockSizes(Optional<Long> logical, Optional<Long> physical) throws QmpException {
        try {
            return new BlockSizes(sizeProperty(logical), sizeProperty(physical));
        } catch (IllegalArgumentException e) {
            throw QmpException.generic(e.getMessage());
        }
    }

    /** A sector size as BlockSizes checks it: values beyond an int are out of its bounds anyway. */
    private static int sizeProperty(Optional<Long> v) {
        return v.isEmpty() ? 0 : (int) Math.min(v.get(), Integer.MAX_VALUE);
    }

    /** The machine's hot-plug driver device_add's {@code driver} names. */
    private DeviceHotplug.Driver driverNamed(String driver) throws QmpException {
        List<String> names = new ArrayList<>();
        for (DeviceHotplug.Driver d : hotplug.drivers()) {
            if (d.isNamed(driver)) {
                return d;
            }
            names.add(d.name());
        }
        throw QmpException.generic("'" + driver + "' is not a valid device model name (hot-pluggable here: "
                + String.join(", ", names) + ")");
    }

    /** A virtio-blk device on the free blockdev-add drive {@code drive}. */
    private VirtioConfig.Block blockDevice(String id, Optional<String> drive, Optional<String> serial,
            BlockSizes sizes, DevicePlacement placement) throws QmpException {
        String node = drive.orElseThrow(() -> QmpException.missingParameter("drive"));
        Drive d = drives.get(node);
        if (d == null) {
            throw QmpException.generic("Property 'virtio-blk-device.drive' can't find value '" + node + "'");
        }
        if (d.device().isPresent()) {
            throw QmpException.generic("Drive '" + node + "' is already in use by '" + d.device().get() + "'");
        }
        return new VirtioConfig.Block(id, d.file(), d.readOnly(), d.direct(), serial, Optional.of(placement),
                d.noFlush(), sizes);
    }

    /** A virtio-net device on the free netdev_add TAP {@code netdev}. */
    private VirtioConfig.Net netDevice(String id, Optional<String> netdev, Optional<String> mac,
            DevicePlacement placement) throws QmpException {
        String nid = netdev.orElseThrow(() -> QmpException.missingParameter("netdev"));
        Netdev n = netdevs.get(nid);
        if (n == null) {
            throw QmpException.generic("Property 'virtio-net-device.netdev' can't find value '" + nid + "'");
        }
        if (n.device().isPresent()) {
            throw QmpException.generic("Property 'virtio-net-device.netdev' can't take value '" + nid
                    + "', it's in use");
        }
        MacAddress address = macAddress(mac);
        if (n.tapFd() < 0) {
            return new VirtioConfig.Net(id, n.ifname(), -1, address, Optional.of(placement));
        }
        // The device gets its own descriptor of the TAP, the machine's from DeviceHotplug.add on (closed when the
        // device goes or is refused); the netdev keeps the TAP open for another device_add, as QEMU's netdev does,
        // until netdev_del.
        return new VirtioConfig.Net(id, Optional.empty(), Fds.duplicate(n.tapFd()), address, Optional.of(placement));
    }

    /**
     * netdev_add fd=NAME (QEMU) or fds=NAME (StratoVirt; a colon-separated list, one name per queue pair): takes
     * the descriptor getfd stored under NAME out of the monitor's table, as QEMU does, and checks that it is a TAP
     * this virtio-net can drive. A refused descriptor is closed, as QEMU closes it.
     */
    private int takeTapFd(String id, String names, String parameter) throws QmpException {
        String[] list = names.split(":", -1);
        if (list.length > 1) {
            throw QmpException.generic("netdev_add " + parameter + "=" + names + ": " + list.length + " queue pairs"
                    + " asked for; this virtio-net has one, so give one descriptor name");
        }
        String name = list[0];
        if (!name.isEmpty() && name.charAt(0) >= '0' && name.charAt(0) <= '9') {
            // QEMU would use the number as a descriptor the process already holds; a VMM started by a launcher
            // holds none it should hand to a guest on a monitor's say-so.
            throw QmpException.generic("netdev_add " + parameter + "=" + name + ": descriptor numbers are refused"
                    + " here; pass the TAP with getfd and give its name");
        }
        int fd = server.takeFd(name);
        try {
            checkTap(id, fd);
        } catch (QmpException | RuntimeException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
        return fd;
    }

    /** TUNGETIFF answers only on a TAP/TUN descriptor; the flags must be a TAP's NetDevice drives. */
    private static void checkTap(String id, int fd) throws QmpException {
        int flags;
        try {
            flags = NetDevice.tapFlags(fd);
        } catch (ErrnoException e) {
            throw QmpException.generic("Unable to query TUNGETIFF on FD " + fd + ": " + LibC.strerror(e.errno())
                    + " (netdev '" + id + "' needs a TAP descriptor)");
        }
        if (!NetDevice.drivesTap(flags)) {
            throw QmpException.generic("netdev '" + id + "': the descriptor is a " + ((flags & NetDevice.IFF_TAP) != 0 ? "TAP"
                    : "TUN") + " device with flags 0x" + Integer.toHexString(flags) + "; virtio-net here needs a TAP"
                    + " opened with IFF_TAP|IFF_NO_PI");
        }
    }

    /**
     * device_add's {@code mac}, a unicast address (a multicast one is refused like a malformed one); without it,
     * QEMU's default: the first 52:54:00:12:34:XX from 56 up that none of the machine's NICs has.
     */
    private MacAddress macAddress(Optional<String> mac) throws QmpException {
        try {
            return mac.isPresent() ? MacAddress.parse(mac.get()) : MacAddress.nextDefault(hotplug.devices());
        } catch (IllegalArgumentException e) {
            throw mac.isPresent() ? QmpException.invalidParameterValue("mac", "a unicast MAC address such as"
                    + " 52:54:00:12:34:56") : QmpException.generic(e.getMessage());
        }
    }

    private synchronized JsonArray queryBlock() {
        JsonArray out = new JsonArray();
        for (Drive d : drives.values()) {
            JsonObject image = new JsonObject();
            long size = 0;
            try {
                size = Files.size(d.file());
            } catch (java.io.IOException ignored) {
                // reported as 0
            }
            image.addProperty("virtual-size", size);
            image.addProperty("filename", d.file().toString());
            image.addProperty("format", "raw");
            image.addProperty("dirty-flag", false);
            JsonObject cache = new JsonObject();
            cache.addProperty("no-flush", d.noFlush());
            cache.addProperty("direct", d.direct());
            cache.addProperty("writeback", true);
            JsonObject inserted = new JsonObject();
            inserted.addProperty("node-name", d.nodeName());
            inserted.addProperty("file", d.file().toString());
            inserted.addProperty("ro", d.readOnly());
            inserted.addProperty("drv", "raw");
            inserted.addProperty("encrypted", false);
            inserted.addProperty("backing_file_depth", 0);
            inserted.addProperty("detect_zeroes", "off");
            inserted.add("cache", cache);
            inserted.add("image", image);
            JsonObject b = new JsonObject();
            b.addProperty("device", d.nodeName());
            b.addProperty("qdev", d.device().orElse(""));
            b.addProperty("locked", false);
            b.addProperty("removable", false);
            b.addProperty("type", "unknown");
            b.addProperty("io-status", "ok");
            b.add("inserted", inserted);
            out.add(b);
        }
        return out;
    }

    private void requireStarted() throws QmpException {
        if (machine.isStarting()) {
            throw QmpException.generic("the machine is still starting");
        }
        if (machine.runState() == RunState.SHUTDOWN) {
            throw QmpException.generic("the machine has stopped");
        }
    }

    private static JsonObject cpuProps(int i) {
        JsonObject props = new JsonObject();
        props.addProperty("core-id", i);
        props.addProperty("thread-id", 0);
        props.addProperty("socket-id", 0);
        return props;
    }

    private static JsonObject chardev(String label, String filename) {
        JsonObject o = new JsonObject();
        o.addProperty("frontend-open", true);
        o.addProperty("filename", filename);
        o.addProperty("label", label);
        return o;
    }
}
