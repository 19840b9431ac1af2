package dev.mesovirt.cli;

import dev.mesovirt.machine.standard.PciTopology;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * Parses StratoVirt/QEMU-style options ({@code -kernel bzImage -m 512M -smp 2 -append "console=ttyS0"}) into a
 * {@link MachineConfig}. Both {@code -opt} and {@code --opt} are accepted; every option that takes a value takes it
 * as the next argument. The options are listed in {@link Opt}.
 *
 * <p>Parsing is two passes: the first walks the arguments and only checks syntax (unknown option, missing argument,
 * option given twice) and stops at -h/-V, so that {@code mesovirt -kernel typo --help} prints help; the second
 * validates the values (files exist, sizes, counts). The first problem found is thrown as a {@link UsageException};
 * any other exception escaping {@link #parse} is a bug.
 *
 * <p>Start-up matters (this runs on every boot): no regex, no lambdas, no String.format.
 */
public final class CommandLine {
    /** The smallest guest we agree to boot (the machine's limit). */
    public static final long MIN_MEMORY = MachineConfig.MIN_MEMORY;
    /** The most vCPUs (the machine's limit). */
    public static final int MAX_VCPUS = MachineConfig.MAX_VCPUS;
    /** The machine types -machine may name; which of them this host's architecture has, it says itself. */
    static final String[] MACHINE_TYPES = {"microvm", "q35", "virt"};

    private static final Map<String, Opt> BY_NAME = new HashMap<>(64);

    static {
        for (Opt opt : Opt.values()) {
            BY_NAME.put(opt.name, opt);
            if (opt.alias != null) {
                BY_NAME.put(opt.alias, opt);
            }
        }
    }

    private final LongSupplier hostMemory;

    /** A parser that limits -m to the host's RAM (read from /proc/meminfo when -m is given). */
    public CommandLine() {
        // An anonymous class, not a method reference: a lambda's bootstrap costs start-up time.
        this(new LongSupplier() {
            @Override
            public long getAsLong() {
                return HostMemory.totalBytes();
            }
        });
    }

    /**
     * @param hostMemory the host's RAM in bytes, the largest -m accepted; a value &lt;= 0 means unknown (no limit)
     */
    public CommandLine(LongSupplier hostMemory) {
        this.hostMemory = hostMemory;
    }

    public ParseResult parse(List<String> args) throws UsageException {
        return parse(args.toArray(new String[0]));
    }

    public ParseResult parse(String... args) throws UsageException {
        // Pass 1: syntax. values[opt.ordinal()] is the option's argument ("" for flags and for -D without a file).
        String[] values = new String[Opt.values().length];
        List<String> drives = new ArrayList<>();
        List<String> devices = new ArrayList<>();
        List<String> objects = new ArrayList<>();
        List<String> chardevs = new ArrayList<>();
        List<String> netdevs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            Opt opt = lookup(arg);
            if (opt == null) {
                if (arg.length() > 1 && arg.charAt(0) == '-') {
                    throw new UsageException("unknown option '" + arg + "' (try --help)");
                }
                throw new UsageException("unexpected argument '" + arg + "' (options start with '-'; try --help)");
            }
            switch (opt.support) {
                case FUTURE -> throw new UsageException("option " + opt.display() + " is not supported yet");
                case NEVER -> throw new UsageException("option " + opt.display() + " is not supported");
                case SUPPORTED -> { }
            }
            if (opt == Opt.HELP) {
                return new ParseResult.Help();
            }
            if (opt == Opt.VERSION) {
                return new ParseResult.Version();
            }
            String value = "";
            switch (opt.arg) {
                case REQUIRED -> {
                    if (i + 1 >= args.length) {
                        throw new UsageException("option " + opt.display() + " needs an argument"
                                + (opt.argHelp == null ? "" : " (" + opt.argHelp + ")"));
                    }
                    value = args[++i];
                }
                case OPTIONAL -> {
                    if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                        value = args[++i];
                    }
                }
                case NONE -> { }
            }
            if (opt == Opt.DRIVE || opt == Opt.DEVICE || opt == Opt.OBJECT || opt == Opt.CHARDEV || opt == Opt.NETDEV) {
                (opt == Opt.DRIVE ? drives : opt == Opt.DEVICE ? devices : opt == Opt.OBJECT ? objects
                        : opt == Opt.CHARDEV ? chardevs : netdevs).add(value);
                continue;
            }
            if (values[opt.ordinal()] != null && opt != Opt.DISABLE_SECCOMP) {
                throw new UsageException("option " + opt.display() + " given more than once");
            }
            values[opt.ordinal()] = value;
        }

        // Pass 2: semantics.
        Machine machine = parseMachine(values[Opt.MACHINE.ordinal()]);
        String kernelArg = values[Opt.KERNEL.ordinal()];
        // With pflash firmware (-drive if=pflash) the machine starts the firmware, which boots from a disk, or the
        // -kernel the machine hands it (fw_cfg), as QEMU's q35 does.
        boolean firmware = drives.stream().anyMatch(CommandLine::isPflash);
        if (kernelArg == null && !firmware) {
            throw new UsageException("no kernel: -kernel FILE is required (try --help)");
        }
        if (kernelArg == null && (values[Opt.INITRD.ordinal()] != null || values[Opt.APPEND.ordinal()] != null)) {
            throw new UsageException("-initrd and -append need -kernel");
        }
        Optional<Path> kernel = kernelArg == null ? Optional.empty() : Optional.of(readableFile(Opt.KERNEL, kernelArg));
        String initrdArg = values[Opt.INITRD.ordinal()];
        Optional<Path> initrd = initrdArg == null ? Optional.empty() : Optional.of(readableFile(Opt.INITRD, initrdArg));
        String append = values[Opt.APPEND.ordinal()];
        String memoryArg = values[Opt.MEMORY.ordinal()];
        long memory = memoryArg == null ? MachineConfig.DEFAULT_MEMORY : parseMemory(memoryArg);
        String smpArg = values[Opt.SMP.ordinal()];
        int vcpus = smpArg == null ? 1 : parseSmp(smpArg);
        String serialArg = values[Opt.SERIAL.ordinal()];
        SerialConfig serial = serialArg == null ? new SerialConfig.Stdio() : parseSerial(serialArg);
        String name = values[Opt.NAME.ordinal()];
        if (name != null && name.isEmpty()) {
            throw new UsageException("-name: the name must not be empty");
        }
        String uuidArg = values[Opt.UUID.ordinal()];
        Optional<UUID> uuid = uuidArg == null ? Optional.empty() : Optional.of(parseUuid(uuidArg));
        String logArg = values[Opt.LOG.ordinal()];
        Optional<Path> logFile = logArg == null || logArg.isEmpty() ? Optional.empty() : Optional.of(logFile(logArg));

        Optional<Path> qmp = parseQmp(values[Opt.QMP.ordinal()], values[Opt.MON.ordinal()], chardevs);

        DeviceOptions.Devices parsed = DeviceOptions.parse(drives, devices, objects, chardevs, netdevs,
                serial instanceof SerialConfig.Stdio, machine.type());
        SharedRam ram = memoryBackend(machine, values[Opt.NUMA.ordinal()], parsed.memoryBackends(),
                memoryArg == null ? -1 : memory);
        if (memoryArg == null && ram.size() > 0) {
            memory = checkMemory(ram.what(), ram.size()); // QEMU takes RAM's size from the backend without -m
        }
        for (VirtioConfig d : parsed.virtio()) {
            if (d instanceof VirtioConfig.Fs fs && !ram.shared()) {
                throw new UsageException("-device " + fs.id() + " (vhost-user-fs): a vhost-user device needs guest RAM"
                        + " its back-end can map: add -object memory-backend-memfd,id=mem,size=SIZE,share=on with"
                        + " -machine memory-backend=mem (or -numa node,memdev=mem), or -machine mem-share=on");
            }
        }

        // The microVM reserves replaceable virtio-mmio slots for QMP hot-plug; the standard machine hot-plugs into
        // its root ports' slots instead.
        boolean slots = qmp.isPresent() && machine.type() == MachineType.MICROVM;
        MachineConfig config = new MachineConfig(name == null ? "mesovirt" : name, uuid, memory, vcpus, kernel, initrd,
                append == null ? "" : append, serial, machine.dumpGuestCore(), parsed.virtio(),
                slots ? MachineConfig.HotplugSlots.STRATOVIRT : MachineConfig.HotplugSlots.NONE, ram.shared());
        boolean frozen = values[Opt.FREEZE.ordinal()] != null;
        if (frozen && qmp.isEmpty()) {
            throw new UsageException("-S: nothing could continue the machine: add -qmp unix:PATH,server,nowait");
        }
        String incomingArg = values[Opt.INCOMING.ordinal()];
        Optional<Path> incoming = Optional.empty();
        if (incomingArg != null) {
            if (!incomingArg.startsWith("file:") || incomingArg.length() == "file:".length()) {
                throw new UsageException("-incoming " + incomingArg + ": only file:DIR (a snapshot directory) is"
                        + " supported");
            }
            try {
                incoming = Optional.of(Path.of(incomingArg.substring("file:".length())));
            } catch (java.nio.file.InvalidPathException e) {
                throw new UsageException("-incoming " + incomingArg + ": " + e.getMessage());
            }
        }
        return new ParseResult.Run(config, logFile, logArg != null, qmp, machine.type(), machine.name(),
                new PciTopology(parsed.rootPorts()), frozen, values[Opt.DISABLE_SECCOMP.ordinal()] == null,
                parsed.pflash(), incoming);
    }

    /** Whether a -drive value asks for a pflash unit (if=pflash); the drive itself is checked by DeviceOptions. */
    private static boolean isPflash(String drive) {
        for (String item : drive.split(",")) {
            if (item.equals("if=pflash")) {
                return true;
            }
        }
        return false;
    }

    /**
     * -qmp unix:PATH,server,nowait, or -mon chardev=ID,mode=control naming a -chardev socket,...,server,nowait (which
     * is taken out of {@code chardevs}, so the virtio console does not see it). One monitor at most.
     */
    private static Optional<Path> parseQmp(String qmp, String mon, List<String> chardevs) throws UsageException {
        if (qmp != null && mon != null) {
            throw new UsageException("-qmp and -mon: only one QMP monitor is supported");
        }
        if (qmp != null) {
            String what = "-qmp " + qmp;
            if (!qmp.startsWith("unix:")) {
                throw new UsageException(what + ": only unix:PATH,server,nowait sockets are supported");
            }
            String[] items = qmp.substring("unix:".length()).split(",", -1);
            return Optional.of(serverSocket(what, items[0], items, 1));
        }
        if (mon == null) {
            return Optional.empty();
        }
        String what = "-mon " + mon;
        KeyValues kv = KeyValues.parse(what, mon, "chardev", "mode", "id", "pretty");
        String mode = kv.get("mode");
        if (mode == null || !mode.equals("control")) {
            throw new UsageException(what + ": only mode=control (QMP) is supported");
        }
        String chardev = kv.get("chardev");
        if (chardev == null) {
            throw new UsageException(what + ": chardev=ID is required");
        }
        for (java.util.Iterator<String> it = chardevs.iterator(); it.hasNext(); ) {
            String text = it.next();
            String[] items = text.split(",", -1);
            String id = null;
            String path = null;
            for (String item : items) {
                if (item.startsWith("id=")) {
                    id = item.substring(3);
                } else if (item.startsWith("path=")) {
                    path = item.substring(5);
                }
            }
            if (!chardev.equals(id)) {
                continue;
            }
            it.remove();
            if (!items[0].equals("socket") || path == null) {
                throw new UsageException(what + ": chardev '" + chardev + "' must be socket,id=ID,path=PATH,server,nowait");
            }
            return Optional.of(serverSocket("-chardev " + text, path, items, 1));
        }
        throw new UsageException(what + ": no -chardev with id '" + chardev + "'");
    }

    /** Checks the server,nowait flags (also server=on, wait=off) of a socket option; returns its path. */
    private static Path serverSocket(String what, String pathText, String[] items, int from) throws UsageException {
        boolean server = false;
        boolean nowait = false;
        for (int i = from; i < items.length; i++) {
            String item = items[i];
            if (item.equals("server") || item.equals("server=on")) {
                server = true;
            } else if (item.equals("nowait") || item.equals("wait=off")) {
                nowait = true;
            } else if (!item.startsWith("id=") && !item.startsWith("path=")) {
                throw new UsageException(what + ": unknown socket option '" + item + "'");
            }
        }
        if (!server || !nowait) {
            throw new UsageException(what + ": the QMP socket must be a listening one: add ,server,nowait");
        }
        if (pathText.isEmpty()) {
            throw new UsageException(what + ": the socket path is empty");
        }
        Path p = path(what, pathText);
        Path dir = p.toAbsolutePath().getParent();
        if (dir != null && !java.nio.file.Files.isDirectory(dir)) {
            throw new UsageException(what + ": directory " + dir + " does not exist");
        }
        return p;
    }

    /** The option an argument names, or null; "-x" and "--x" are the same option. */
    private static Opt lookup(String arg) {
        if (arg.length() < 2 || arg.charAt(0) != '-') {
            return null;
        }
        int start = arg.charAt(1) == '-' ? 2 : 1;
        return BY_NAME.get(arg.substring(start));
    }

    /**
     * What -machine says: the type (default microvm), dump-guest-core (default on, as in QEMU), StratoVirt's
     * mem-share and QEMU's memory-backend (null when absent).
     */
    private record Machine(String what, String name, MachineType type, boolean dumpGuestCore, boolean memShare,
            String memoryBackend) {}

    /** Guest RAM's sharing and, when a memory backend gives it, its size (else -1) and its -object option. */
    private record SharedRam(boolean shared, long size, String what) {}

    /**
     * -machine [type=]microvm|q35|virt[,dump-guest-core=on|off][,mem-share=on|off][,memory-backend=ID][,acpi=off]. Kata's
     * StratoVirt driver writes type=microvm,dump-guest-core=off,mem-share=on for virtio-fs. q35 (x86_64) and virt
     * (aarch64) are the standard machine; whether the host's architecture has the one named is the machine's check.
     */
    private static Machine parseMachine(String text) throws UsageException {
        if (text == null) {
            return new Machine(null, "microvm", MachineType.MICROVM, true, false, null);
        }
        String what = "-machine " + text;
        KeyValues kv = KeyValues.parse(what, text, "type", "dump-guest-core", "mem-share", "memory-backend", "acpi");
        String type = kv.get("type");
        MachineType machineType = MachineType.MICROVM;
        if (type != null) {
            if (type.equals("q35") || type.equals("virt")) {
                machineType = MachineType.STANDARD;
            } else if (!type.equals("microvm")) {
                throw new UsageException(what + ": machine type '" + type + "' is not supported (supported: "
                        + KeyValues.list(MACHINE_TYPES) + ")");
            }
        }
        checkAcpi(what, type, kv.get("acpi"));
        String dump = kv.get("dump-guest-core");
        String share = kv.get("mem-share");
        return new Machine(what, type == null ? "microvm" : type, machineType, dump == null || onOff(what, "dump-guest-core", dump),
                share != null && onOff(what, "mem-share", share), kv.get("memory-backend"));
    }

    /**
     * QEMU's acpi=on|off, for virt (arm64, riscv64), whose guests are described by a device tree: off is what it
     * does. on is refused, not ignored: arm64 Linux maps ACPI tables only through the UEFI memory map, so without
     * UEFI firmware (a -kernel boot) a guest could not read the tables the machine has for it.
     */
    private static void checkAcpi(String what, String type, String acpi) throws UsageException {
        if (acpi == null) {
            return;
        }
        if (!"virt".equals(type)) {
            throw new UsageException(what + ": acpi= is an option of -machine virt");
        }
        if (onOff(what, "acpi", acpi)) {
            throw new UsageException(what + ": acpi=on needs UEFI firmware (Linux on arm64 reads ACPI tables only "
                    + "through the UEFI memory map), and -kernel boots without it: use acpi=off, the device tree");
        }
    }

    /**
     * Guest RAM as -machine memory-backend=ID, -numa node,memdev=ID (QEMU's older spelling; one node) or StratoVirt's
     * -machine mem-share=on say: shared or not, and the backend's size, which must be -m's when -m is given
     * ({@code memory}, or -1).
     */
    private static SharedRam memoryBackend(Machine machine, String numa, Map<String, DeviceOptions.MemoryBackend> backends,
            long memory) throws UsageException {
        String id = machine.memoryBackend();
        String what = machine.what();
        if (numa != null) {
            String numaWhat = "-numa " + numa;
            if (!numa.equals("node") && !numa.startsWith("node,")) {
                throw new UsageException(numaWhat + ": only -numa node,memdev=ID is supported");
            }
            KeyValues kv = KeyValues.parse(numaWhat, numa, "type", "memdev", "nodeid");
            String nodeid = kv.get("nodeid");
            if (nodeid != null && !nodeid.equals("0")) {
                throw new UsageException(numaWhat + ": only one NUMA node (nodeid=0) is supported");
            }
            String memdev = kv.get("memdev");
            if (memdev == null) {
                throw new UsageException(numaWhat + ": missing memdev=");
            }
            if (id != null && !id.equals(memdev)) {
                throw new UsageException(numaWhat + ": memdev=" + memdev + " is not the -machine memory-backend=" + id);
            }
            id = memdev;
            what = numaWhat;
        }
        if (id == null) {
            return new SharedRam(machine.memShare(), -1, what);
        }
        DeviceOptions.MemoryBackend backend = backends.get(id);
        if (backend == null) {
            throw new UsageException(what + ": no -object memory-backend-memfd with id '" + id + "'");
        }
        if (memory >= 0 && backend.size() != memory) {
            throw new UsageException(what + ": memory backend '" + id + "' has " + (backend.size() >> 20)
                    + " MiB, -m asks for " + (memory >> 20) + " MiB (they must be equal)");
        }
        return new SharedRam(backend.shared() || machine.memShare(), backend.size(), backend.what());
    }

    static boolean onOff(String what, String key, String value) throws UsageException {
        if (value.equals("on")) {
            return true;
        }
        if (value.equals("off")) {
            return false;
        }
        throw new UsageException(what + ": " + key + " must be on or off, not '" + value + "'");
    }

    /** A path to an existing, readable regular file. */
    static Path readableFile(Opt opt, String text) throws UsageException {
        String what = opt.display() + " " + text;
        if (text.isEmpty()) {
            throw new UsageException(opt.display() + ": empty file name");
        }
        Path path = path(what, text);
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new UsageException(what + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UsageException(what + ": permission denied");
        } catch (FileSystemException e) {
            throw new UsageException(what + ": " + (e.getReason() == null ? "cannot access" : e.getReason()));
        } catch (IOException | SecurityException e) {
            throw new UsageException(what + ": cannot access (" + e.getMessage() + ")");
        }
        if (attributes.isDirectory()) {
            throw new UsageException(what + ": is a directory, not a file");
        }
        if (!attributes.isRegularFile()) {
            throw new UsageException(what + ": not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new UsageException(what + ": permission denied");
        }
        return path;
    }

    static Path path(String what, String text) throws UsageException {
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new UsageException(what + ": invalid path (" + e.getReason() + ")");
        }
    }

    /** -m [size=]SIZE. */
    private long parseMemory(String text) throws UsageException {
        String what = "-m " + text;
        String sizeText = KeyValues.parse(what, text, "size").get("size");
        long bytes = Sizes.parseSize(sizeText);
        if (bytes == Sizes.INVALID) {
            throw new UsageException(what + ": invalid size '" + sizeText
                    + "' (a number of MiB, or a number with suffix K, M, G or T)");
        }
        return checkMemory(what, bytes);
    }

    /** A guest RAM size (-m, or a memory backend's) within what we boot and the host has, in whole MiB. */

    /** A guest RAM size (-m, or a memory backend's) within what we boot and the host has, in whole MiB. */
    private long checkMemory(String what, long bytes) throws UsageException {
        if (bytes != Sizes.TOO_LARGE && bytes < MIN_MEMORY) {
            throw new UsageException(what + ": too little memory (the minimum is " + (MIN_MEMORY >> 20) + " MiB)");
        }
        long host = hostMemory.getAsLong();
        if (bytes == Sizes.TOO_LARGE || (host > 0 && bytes > host)) {
            throw new UsageException(what + ": more memory than the host has"
                    + (host > 0 ? " (" + (host >> 20) + " MiB)" : ""));
        }
        if ((bytes & ((1L << 20) - 1)) != 0) {
            throw new UsageException(what + ": not a whole number of MiB");
        }
        return bytes;
    }

    /**
     * -smp [cpus=]N[,maxcpus=N][,sockets=S][,cores=C][,threads=T]. The topology is only checked (the microvm has
     * no way to describe it to the guest yet); missing sockets are derived from the rest as QEMU does, missing cores
     * and threads are 1, and without cpus the count is maxcpus or sockets*cores*threads.
     */
    private static int parseSmp(String text) throws UsageException {
        String what = "-smp " + text;
        KeyValues kv = KeyValues.parse(what, text, "cpus", "maxcpus", "sockets", "cores", "threads");
        int cpus = smpCount(what, kv, "cpus");
        int maxcpus = smpCount(what, kv, "maxcpus");
        int sockets = smpCount(what, kv, "sockets");
        int cores = smpCount(what, kv, "cores");
        int threads = smpCount(what, kv, "threads");
        if (cpus > 0 && maxcpus > 0 && maxcpus != cpus) {
            throw new UsageException(what + ": maxcpus must equal cpus (CPU hotplug is not supported)");
        }
        if (cpus == 0) {
            cpus = maxcpus;
        }
        if (sockets > 0 || cores > 0 || threads > 0) {
            int c = cores > 0 ? cores : 1;
            int t = threads > 0 ? threads : 1;
            int s = sockets;
            if (s == 0) {
                s = cpus == 0 ? 1 : Math.max(1, cpus / (c * t));
            }
            long product = (long) s * c * t;
            if (cpus == 0) {
                if (product > MAX_VCPUS) {
                    throw new UsageException(what + ": sockets*cores*threads = " + product
                            + " vCPUs, more than the maximum of " + MAX_VCPUS);
                }
                cpus = (int) product;
            } else if (product != cpus) {
                throw new UsageException(what + ": sockets*cores*threads = " + product + " does not match "
                        + cpus + " vCPUs");
            }
        }
        if (cpus == 0) {
            throw new UsageException(what + ": no vCPU count given");
        }
        return cpus;
    }

    /** The value of a -smp count, 1..254, or 0 when absent. */
    private static int smpCount(String what, KeyValues kv, String key) throws UsageException {
        String text = kv.get(key);
        if (text == null) {
            return 0;
        }
        int n = Sizes.parseCount(text);
        if (n < 0) {
            throw new UsageException(what + ": " + key + " '" + text + "' is not a number");
        }
        if (n < 1 || n > MAX_VCPUS) {
            throw new UsageException(what + ": " + key + " must be between 1 and " + MAX_VCPUS);
        }
        return n;
    }

    /** -serial stdio|file:PATH|none. */
    private static SerialConfig parseSerial(String text) throws UsageException {
        String what = "-serial " + text;
        if (text.equals("stdio")) {
            return new SerialConfig.Stdio();
        }
        if (text.equals("none")) {
            return new SerialConfig.None();
        }
        if (text.startsWith("file:")) {
            String file = text.substring(5);
            if (file.isEmpty()) {
                throw new UsageException(what + ": missing file name after 'file:'");
            }
            Path path = path(what, file);
            if (Files.isDirectory(path)) {
                throw new UsageException(what + ": is a directory, not a file");
            }
            return new SerialConfig.File(path);
        }
        int colon = text.indexOf(':');
        String backend = colon < 0 ? text : text.substring(0, colon);
        switch (backend) {
            case "pty", "vc", "null", "chardev", "tcp", "udp", "telnet", "unix", "pipe", "mon", "msmouse", "braille",
                 "dev", "parallel" ->
                    throw new UsageException(what + ": serial backend '" + backend
                            + "' is not supported (use stdio, file:PATH or none)");
            default -> throw new UsageException(what + ": unknown serial backend (use stdio, file:PATH or none)");
        }
    }

    /** A UUID in the canonical 8-4-4-4-12 hex form (UUID.fromString alone also accepts "1-2-3-4-5"). */
    private static UUID parseUuid(String text) throws UsageException {
        boolean ok = text.length() == 36;
        for (int i = 0; ok && i < 36; i++) {
            char c = text.charAt(i);
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                ok = c == '-';
            } else {
                ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            }
        }
        if (!ok) {
            throw new UsageException("-uuid " + text + ": not a UUID (expected the form 123e4567-e89b-12d3-a456-426614174000)");
        }
        return UUID.fromString(text);
    }

    /** -D LOGFILE: the file is created later (by the logger); here it must not be a directory. */
    private static Path logFile(String text) throws UsageException {
        String what = "-D " + text;
        Path path = path(what, text);
        if (Files.isDirectory(path)) {
            throw new UsageException(what + ": is a directory, not a file");
        }
        return path;
    }

    /** The text for --help, generated from the option table. */
    public static String helpText() {
        StringBuilder sb = new StringBuilder(2048);
        sb.append("Usage: mesovirt -kernel FILE [-initrd FILE] [-append CMDLINE] [options]\n")
          .append("Boots a Linux guest in a KVM microvm (or, with -machine q35 or virt, a standard PCIe machine);\n")
          .append("exits when the guest powers off.\n\n")
          .append("Options (-opt and --opt are the same; every value is the next argument):\n");
        for (Opt opt : Opt.values()) {
            if (opt.support != Opt.Support.SUPPORTED) {
                continue;
            }
            int start = sb.length();
            sb.append("  -").append(opt.name);
            if (opt.alias != null) {
                sb.append(", -").append(opt.alias);
            }
            if (opt.argHelp != null) {
                sb.append(' ').append(opt.argHelp);
            }
            int width = sb.length() - start;
            if (width > 30) {
                sb.append('\n');
                width = 0;
            }
            for (; width < 32; width++) {
                sb.append(' ');
            }
            sb.append(opt.help).append('\n');
        }
        StringBuilder planned = new StringBuilder();
        for (Opt opt : Opt.values()) {
            if (opt.support == Opt.Support.FUTURE) {
                planned.append(' ').append(opt.display());
            }
        }
        if (!planned.isEmpty()) {
            sb.append("\nNot supported yet (planned):").append(planned);
        }
        sb.append("\nNot supported:");
        for (Opt opt : Opt.values()) {
            if (opt.support == Opt.Support.NEVER) {
                sb.append(' ').append(opt.display());
            }
        }
        sb.append("\n\nEnvironment:\n")
          .append("  MESOVIRT_LOG=LEVEL            log level: trace, debug, info, warn, error or off\n")
          .append("                                (default warn, or info with -D)\n")
          .append("  MESOVIRT_JAVA_OPTS            extra JVM options for the bin/mesovirt launcher\n")
          .append("  JAVA_HOME                     the Java runtime to use, if it is Java 21 or newer\n")
          .append("\nExit status: 0 when the guest powers off, reboots or halts; 3 when it panics; 1 for a usage,\n")
          .append("configuration or VMM error; 2 for an internal error (a bug: the log has the stack trace).\n");
        return sb.toString();
    }

    /** The text for --version. */
    public static String versionText() {
        String version = CommandLine.class.getPackage().getImplementationVersion();
        return "mesovirt " + (version == null ? "(development build)" : version)
                + "\nJava " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vm.name") + ")\n";
    }
}
