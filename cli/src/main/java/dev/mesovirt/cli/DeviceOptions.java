package dev.mesovirt.cli;

import dev.mesovirt.machine.standard.PciTopology;
import dev.mesovirt.vmm.firmware.FlashImage;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MacAddress;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.vhost.VhostVsock;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The StratoVirt-style device options: {@code -drive} and {@code -object} declare backends by id, {@code -device}
 * creates a virtio device that names one. On the microVM a device is virtio-mmio ({@code virtio-blk-device}) and takes
 * the next virtio-mmio slot in the order of the -device options; on the standard machine it is virtio-pci
 * ({@code virtio-blk-pci}) at {@code bus=ID,addr=SLOT[.FN]} (default: the next free slot of {@code pcie.0}), and
 * {@code pcie-root-port} adds a bus with one hot-pluggable slot.
 */
final class DeviceOptions {
    // The two lists pair up by index, so that a device of the other machine is named with this one's twin; the root
    // port has none on the microVM.
    static final String[] MICROVM_DEVICE_TYPES = {"virtio-blk-device", "virtio-net-device", "virtio-rng-device",
        "virtio-serial-device", "virtconsole", "vhost-vsock-device", "vhost-user-fs-device"};
    static final String[] STANDARD_DEVICE_TYPES = {"virtio-blk-pci", "virtio-net-pci", "virtio-rng-pci",
        "virtio-serial-pci", "virtconsole", "vhost-vsock-pci", "vhost-user-fs-pci", "pcie-root-port"};
    static final String[] OBJECT_TYPES = {"rng-random", "memory-backend-memfd"};

    private record Drive(String id, Path file, boolean readOnly, boolean direct) {}

    /**
     * A -chardev: a socket at {@code path} (listening with {@code server}; {@code nowait}: not waiting for a client
     * before the guest starts) or, with no path, stdio.
     */
    private record Chardev(String what, Optional<Path> path, boolean server, boolean nowait) {}

    /** -object memory-backend-memfd,id=ID,size=SIZE[,share=on|off]: guest RAM that -machine memory-backend= names. */
    record MemoryBackend(String what, String id, long size, boolean shared) {}

    /**
     * What the -device options make: the virtio devices, and the standard machine's root ports; and the memory
     * backends (-object memory-backend-memfd) that -machine or -numa may name.
     */
    record Devices(List<VirtioConfig> virtio, List<PciTopology.RootPort> rootPorts,
            Map<String, MemoryBackend> memoryBackends, List<FlashImage> pflash) {}

    private DeviceOptions() {}

    static Devices parse(List<String> drives, List<String> devices, List<String> objects,
            List<String> chardevs, List<String> netdevs, boolean serialOnStdio, MachineType machine)
            throws UsageException {
        // -netdev tap: id -> "ifname" or "#fd".
        Map<String, String> netdevById = new HashMap<>();
        for (String text : netdevs) {
            String what = "-netdev " + text;
            KeyValues kv = KeyValues.parse(what, text, "type", "id", "ifname", "fds", "fd", "vhost");
            if (kv.get("type") == null) { // "-netdev id=n0"
                throw new UsageException(what + ": missing the type (supported: tap)");
            }
            if (!kv.get("type").equals("tap")) {
                throw new UsageException(what + ": unknown netdev type '" + kv.get("type") + "' (supported: tap)");
            }
            String id = required(what, kv, "id");
            String vhost = kv.get("vhost");
            if (vhost != null && !vhost.equals("off")) {
                throw new UsageException(what + ": vhost is not supported");
            }
            String ifname = kv.get("ifname");
            String fds = kv.get("fds") != null ? kv.get("fds") : kv.get("fd");
            String backend;
            if ((ifname == null) == (fds == null)) {
                throw new UsageException(what + ": give exactly one of ifname= and fds=");
            } else if (ifname != null) {
                if (ifname.length() > 15) {
                    throw new UsageException(what + ": ifname longer than 15 characters");
                }
                backend = ifname;
            } else {
                backend = "#" + openFd(what, "fds", fds);
            }
            if (netdevById.put(id, backend) != null) {
                throw new UsageException(what + ": duplicate netdev id '" + id + "'");
            }
        }
        // -chardev: id -> socket (path, server, nowait), or stdio.
        Map<String, Chardev> chardevById = new HashMap<>();
        for (String text : chardevs) {
            String what = "-chardev " + text;
            // "server" and "nowait" are flags (QEMU also spells them server=on|off, wait=on|off); KeyValues wants
            // key=value.
            StringBuilder sb = new StringBuilder();
            boolean server = false;
            boolean nowait = false;
            String[] items = text.split(",", -1);
            for (int i = 0; i < items.length; i++) {
                String item = items[i];
                if (i > 0 && (item.equals("server") || item.equals("server=on"))) {
                    server = true;
                } else if (i > 0 && item.equals("server=off")) {
                    server = false;
                } else if (i > 0 && (item.equals("nowait") || item.equals("wait=off"))) {
                    nowait = true;
                } else if (i > 0 && (item.equals("wait") || item.equals("wait=on"))) {
                    nowait = false;
                } else {
                    sb.append(sb.length() == 0 ? "" : ",").append(item);
                }
            }
            KeyValues kv = KeyValues.parse(what, sb.toString(), "backend", "id", "path");
            String backend = kv.get("backend");
            if (backend == null) { // "-chardev id=c0": no backend at all
                throw new UsageException(what + ": missing the backend (supported: socket, stdio)");
            }
            String id = required(what, kv, "id");
            Optional<Path> path;
            if (backend.equals("socket")) {
                path = Optional.of(CommandLine.path(what, required(what, kv, "path")));
            } else if (backend.equals("stdio")) {
                if (serialOnStdio) {
                    throw new UsageException(what + ": stdio is already used by -serial (use -serial none or file:)");
                }
                path = Optional.empty();
            } else {
                throw new UsageException(what + ": unknown chardev backend '" + backend + "' (supported: socket, stdio)");
            }
            if (chardevById.put(id, new Chardev(what, path, server, nowait)) != null) {
                throw new UsageException(what + ": duplicate chardev id '" + id + "'");
            }
        }
        Map<String, Drive> driveById = new HashMap<>();
        List<FlashImage> pflash = new ArrayList<>();
        for (String text : drives) {
            if (KeyValues.parse("-drive " + text, text, DRIVE_KEYS).get("if") instanceof String i && i.equals("pflash")) {
                pflash.add(parsePflash(text, machine, pflash));
                continue;
            }
            Drive d = parseDrive(text);
            if (driveById.put(d.id(), d) != null) {
                throw new UsageException("-drive " + text + ": duplicate drive id '" + d.id() + "'");
            }
        }
        Map<String, Path> rngById = new HashMap<>();
        Map<String, MemoryBackend> memoryById = new HashMap<>();
        Set<String> objectIds = new HashSet<>();
        for (String text : objects) {
            String what = "-object " + text;
            int comma = text.indexOf(',');
            String type = comma < 0 ? text : text.substring(0, comma);
            String id;
            if (type.equals("rng-random")) {
                KeyValues kv = KeyValues.parse(what, text, "qom-type", "id", "filename");
                id = required(what, kv, "id");
                rngById.put(id, checkFile(what, required(what, kv, "filename"), false, false));
            } else if (type.equals("memory-backend-memfd")) {
                KeyValues kv = KeyValues.parse(what, text, "qom-type", "id", "size", "share");
                id = required(what, kv, "id");
                String sizeText = required(what, kv, "size");
                long size = Sizes.parseSize(sizeText);
                if (size == Sizes.INVALID || size == Sizes.TOO_LARGE) {
                    throw new UsageException(what + ": invalid size '" + sizeText
                            + "' (a number of MiB, or a number with suffix K, M, G or T)");
                }
                String share = kv.get("share");
                memoryById.put(id, new MemoryBackend(what, id, size, share != null && CommandLine.onOff(what, "share", share)));
            } else {
                throw new UsageException(what + ": unknown object type '" + type + "' (supported: "
                        + KeyValues.list(OBJECT_TYPES) + ")");
            }
            if (!objectIds.add(id)) {
                throw new UsageException(what + ": duplicate object id '" + id + "'");
            }
        }
        List<VirtioConfig> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Set<String> usedBackends = new HashSet<>();
        int serialIndex = -1;
        boolean consoleBound = false;
        PciPlacements pci = new PciPlacements(machine == MachineType.STANDARD ? rootPorts(devices, ids) : List.of());
        for (String text : devices) {
            String what = "-device " + text;
            int comma = text.indexOf(',');
            String driver = checkTransport(what, comma < 0 ? text : text.substring(0, comma), machine);
            VirtioConfig config;
            switch (driver) {
                case "pcie-root-port" -> {
                    continue; // read first, by rootPorts()
                }
                case "virtio-blk-device", "virtio-blk-pci" -> {
                    KeyValues kv = KeyValues.parse(what, text, keys(driver, "driver", "id", "drive", "serial"));
                    String id = required(what, kv, "id");
                    String driveId = required(what, kv, "drive");
                    Drive d = driveById.get(driveId);
                    if (d == null) {
                        throw new UsageException(what + ": no -drive with id '" + driveId + "'");
                    }
                    if (!usedBackends.add("drive:" + driveId)) {
                        throw new UsageException(what + ": drive '" + driveId + "' is already used by another device");
                    }
                    String serial = kv.get("serial");
                    if (serial != null && serial.length() > 20) {
                        throw new UsageException(what + ": serial is longer than 20 characters");
                    }
                    config = new VirtioConfig.Block(id, d.file(), d.readOnly(), d.direct(), Optional.ofNullable(serial),
                            pci.place(what, kv, driver));
                }
                case "virtio-net-device", "virtio-net-pci" -> {
                    KeyValues kv = KeyValues.parse(what, text, keys(driver, "driver", "id", "netdev", "mac"));
                    String id = required(what, kv, "id");
                    String netdevId = required(what, kv, "netdev");
                    String backend = netdevById.get(netdevId);
                    if (backend == null) {
                        throw new UsageException(what + ": no -netdev with id '" + netdevId + "'");
                    }
                    if (!usedBackends.add("netdev:" + netdevId)) {
                        throw new UsageException(what + ": netdev '" + netdevId + "' is already used by another device");
                    }
                    MacAddress mac = macAddress(what, kv.get("mac"), out);
                    Optional<DevicePlacement> placement = pci.place(what, kv, driver);
                    config = backend.startsWith("#")
                            ? new VirtioConfig.Net(id, Optional.empty(), Integer.parseInt(backend.substring(1)), mac,
                                    placement)
                            : new VirtioConfig.Net(id, Optional.of(backend), -1, mac, placement);
                }
                case "virtio-rng-device", "virtio-rng-pci" -> {
                    KeyValues kv = KeyValues.parse(what, text, keys(driver, "driver", "id", "rng"));
                    String id = required(what, kv, "id");
                    String rngId = required(what, kv, "rng");
                    Path source = rngById.get(rngId);
                    if (source == null) {
                        throw new UsageException(what + ": no -object rng-random with id '" + rngId + "'");
                    }
                    config = new VirtioConfig.Rng(id, source, pci.place(what, kv, driver));
                }
                case "virtio-serial-device", "virtio-serial-pci" -> {
                    // StratoVirt's virtio-serial-device takes bus= and addr= too; on the microVM they mean nothing.
                    KeyValues kv = KeyValues.parse(what, text, keys(driver, "driver", "id", "bus", "addr"));
                    String id = required(what, kv, "id");
                    // The port comes from the virtconsole that names this bus (or, StratoVirt-style, the next one).
                    if (serialIndex >= 0) {
                        throw new UsageException(what + ": only one " + driver + " is supported");
                    }
                    config = new VirtioConfig.Console(id, Optional.empty(), pci.place(what, kv, driver));
                    serialIndex = out.size();
                }
                case "vhost-vsock-device", "vhost-vsock-pci" -> {
                    KeyValues kv = KeyValues.parse(what, text, keys(driver, "driver", "id", "guest-cid", "vhostfd"));
                    String id = required(what, kv, "id");
                    long cid = guestCid(what, required(what, kv, "guest-cid"));
                    for (VirtioConfig c : out) {
                        if (c instanceof VirtioConfig.Vsock v) {
                            throw new UsageException(what + ": only one vsock device is supported (" + v.id()
                                    + " is one)");
                        }
                    }
                    int vhostFd = -1;
                    if (kv.get("vhostfd") != null) {
                        vhostFd = openFd(what, "vhostfd", kv.get("vhostfd"));
                    }
                    config = new VirtioConfig.Vsock(id, cid, vhostFd, pci.place(what, kv, driver));
                }
                case "vhost-user-fs-device", "vhost-user-fs-pci" -> {
                    KeyValues kv = KeyValues.parse(what, text, keys(driver, "driver", "id", "chardev", "tag",
                            "queue-size", "num-request-queues"));
                    String id = required(what, kv, "id");
                    String chardevId = required(what, kv, "chardev");
                    Chardev chardev = chardevById.get(chardevId);
                    if (chardev == null) {
                        throw new UsageException(what + ": no -chardev with id '" + chardevId + "'");
                    }
                    if (chardev.path().isEmpty()) {
                        throw new UsageException(what + ": chardev '" + chardevId + "' must be a socket"
                                + " (-chardev socket,id=" + chardevId + ",path=PATH): the vhost-user back-end's");
                    }
                    if (!usedBackends.add("chardev:" + chardevId)) {
                        throw new UsageException(what + ": chardev '" + chardevId + "' is already used by another device");
                    }
                    int queueSize = count(what, kv, "queue-size", VirtioConfig.Fs.DEFAULT_QUEUE_SIZE);
                    int requestQueues = count(what, kv, "num-request-queues", 1);
                    try {
                        config = new VirtioConfig.Fs(id, chardev.path().get(), chardev.server(),
                                required(what, kv, "tag"), queueSize, requestQueues, pci.place(what, kv, driver));
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(what + ": " + e.getMessage().replace("device " + id + ": ", ""));
                    }
                }
                case "virtconsole" -> {
                    KeyValues kv = KeyValues.parse(what, text, "driver", "id", "chardev", "nr", "bus");
                    required(what, kv, "id");
                    String chardevId = required(what, kv, "chardev");
                    String nr = kv.get("nr");
                    if (nr != null && !nr.equals("0")) {
                        throw new UsageException(what + ": only nr=0 is supported (one console port)");
                    }
                    if (serialIndex < 0) {
                        throw new UsageException(what + ": no -device " + (machine == MachineType.STANDARD
                                ? "virtio-serial-pci" : "virtio-serial-device") + " before it");
                    }
                    Chardev chardev = chardevById.get(chardevId);
                    if (chardev == null) {
                        throw new UsageException(what + ": no -chardev with id '" + chardevId + "'");
                    }
                    if (chardev.path().isPresent() && (!chardev.server() || !chardev.nowait())) {
                        throw new UsageException(chardev.what() + ": a virtconsole's socket must be server,nowait");
                    }
                    Optional<Path> path = chardev.path();
                    if (!usedBackends.add("chardev:" + chardevId) || consoleBound) {
                        throw new UsageException(what + ": the console port or chardev '" + chardevId + "' is already used");
                    }
                    consoleBound = true;
                    VirtioConfig.Console c = (VirtioConfig.Console) out.get(serialIndex);
                    out.set(serialIndex, new VirtioConfig.Console(c.id(), path, c.placement()));
                    if (!ids.add(kv.get("id"))) {
                        throw new UsageException(what + ": duplicate device id '" + kv.get("id") + "'");
                    }
                    continue;
                }
                default -> throw new UsageException(what + ": unknown device '" + driver + "'");
            }
            if (!ids.add(config.id())) {
                throw new UsageException(what + ": duplicate device id '" + config.id() + "'");
            }
            out.add(config);
        }
        if (serialIndex >= 0 && !consoleBound) {
            throw new UsageException("-device " + (machine == MachineType.STANDARD ? "virtio-serial-pci"
                    : "virtio-serial-device") + ": no -device virtconsole,chardev=ID,nr=0 for it");
        }
        return new Devices(out, pci.rootPorts(), memoryById, List.copyOf(pflash));
    }

    /**
     * The driver, if this machine takes it: a virtio-mmio device ({@code -device}) on the microVM, a virtio-pci one
     * ({@code -pci}) and root ports on the standard machine; a wrong one is named with the right one.
     */
    private static String checkTransport(String what, String driver, MachineType machine) throws UsageException {
        String[] ours = machine == MachineType.STANDARD ? STANDARD_DEVICE_TYPES : MICROVM_DEVICE_TYPES;
        String[] theirs = machine == MachineType.STANDARD ? MICROVM_DEVICE_TYPES : STANDARD_DEVICE_TYPES;
        for (String d : ours) {
            if (d.equals(driver)) {
                return driver;
            }
        }
        for (int i = 0; i < theirs.length; i++) {
            if (theirs[i].equals(driver)) {
                String instead = i < ours.length ? "; it takes " + ours[i] : "";
                throw new UsageException(what + ": " + driver + " is a " + (machine == MachineType.STANDARD
                        ? "virtio-mmio device, for -machine microvm, not the standard machine (q35, virt)"
                        : "PCI device, for -machine q35 or virt, not -machine microvm") + instead);
            }
        }
        throw new UsageException(what + ": unknown device '" + driver + "' (supported: " + KeyValues.list(ours) + ")");
    }

    /** The keys a driver takes: the PCI variants also take bus=, addr= and multifunction=. */
    private static String[] keys(String driver, String... common) {
        if (!driver.endsWith("-pci")) {
            return common;
        }
        Set<String> all = new java.util.LinkedHashSet<>(List.of(common));
        all.addAll(List.of("bus", "addr", "multifunction"));
        return all.toArray(String[]::new);
    }

    /** The -device pcie-root-port options, read before the devices that name their buses. */
    private static List<PciTopology.RootPort> rootPorts(List<String> devices, Set<String> ids) throws UsageException {
        List<PciTopology.RootPort> ports = new ArrayList<>();
        for (String text : devices) {
            if (!text.equals("pcie-root-port") && !text.startsWith("pcie-root-port,")) {
                continue;
            }
            String what = "-device " + text;
            KeyValues kv = KeyValues.parse(what, text, "driver", "id", "port", "bus", "addr", "multifunction",
                    "chassis");
            String id = required(what, kv, "id");
            String bus = kv.get("bus") == null ? PciTopology.ROOT_BUS : kv.get("bus");
            if (!bus.equals(PciTopology.ROOT_BUS)) {
                throw new UsageException(what + ": a pcie-root-port goes on bus " + PciTopology.ROOT_BUS + ", not " + bus);
            }
            multifunction(what, kv);
            int port = portNumber(what, required(what, kv, "port"));
            for (PciTopology.RootPort p : ports) {
                if (p.port() == port) {
                    throw new UsageException(what + ": port " + port + " is already " + p.id() + "'s");
                }
            }
            if (!ids.add(id)) {
                throw new UsageException(what + ": duplicate device id '" + id + "'");
            }
            try {
                DevicePlacement.Pci at = DevicePlacement.Pci.parse(bus, required(what, kv, "addr"));
                ports.add(new PciTopology.RootPort(id, port, at.slot(), at.function()));
            } catch (IllegalArgumentException e) {
                throw new UsageException(what + ": " + e.getMessage());
            }
        }
        return ports;
    }

    /** A root port's port=: decimal, or hexadecimal with 0x as StratoVirt writes it (port=0x1). */
    private static int portNumber(String what, String text) throws UsageException {
        boolean hex = text.startsWith("0x") || text.startsWith("0X");
        String digits = hex ? text.substring(2) : text;
        int value = 0;
        for (int i = 0; i < digits.length(); i++) {
            int d = Character.digit(digits.charAt(i), hex ? 16 : 10);
            if (d < 0 || value > 255) {
                throw new UsageException(what + ": port=" + text + " is not a port number 0..255");
            }
            value = value * (hex ? 16 : 10) + d;
        }
        if (digits.isEmpty() || value > 255) {
            throw new UsageException(what + ": port=" + text + " is not a port number 0..255");
        }
        return value;
    }

    private static void multifunction(String what, KeyValues kv) throws UsageException {
        // The multi-function bit follows from the functions a slot holds; on/off is accepted as QEMU takes it.
        String mf = kv.get("multifunction");
        if (mf != null) {
            CommandLine.onOff(what, "multifunction", mf);
        }
    }

    /**
     * Where the standard machine's devices go: each PCI address once, on a bus that exists (the root bus or a root
     * port's, whose one slot is 0x0); checked here so that a mistake is one line before anything starts.
     */
    private static final class PciPlacements {
        private final List<PciTopology.RootPort> rootPorts;
        private final Set<String> taken = new HashSet<>();

        PciPlacements(List<PciTopology.RootPort> rootPorts) {
            this.rootPorts = rootPorts;
            for (PciTopology.RootPort p : rootPorts) {
                taken.add(PciTopology.ROOT_BUS + " " + p.slot() + "." + p.function());
            }
        }

        List<PciTopology.RootPort> rootPorts() {
            return rootPorts;
        }

        Optional<DevicePlacement> place(String what, KeyValues kv, String driver) throws UsageException {
            if (!driver.endsWith("-pci")) {
                return Optional.empty();
            }
            multifunction(what, kv);
            String bus = kv.get("bus") == null ? PciTopology.ROOT_BUS : kv.get("bus");
            boolean rootBus = bus.equals(PciTopology.ROOT_BUS);
            if (!rootBus && !isRootPort(bus)) {
                StringBuilder buses = new StringBuilder(PciTopology.ROOT_BUS);
                for (PciTopology.RootPort p : rootPorts) {
                    buses.append(", ").append(p.id());
                }
                throw new UsageException(what + ": no bus '" + bus + "' (buses: " + buses + ")");
            }
            String addr = kv.get("addr");
            if (addr == null && rootBus) {
                return Optional.empty(); // the next free slot, as QEMU
            }
            DevicePlacement.Pci at;
            try {
                at = DevicePlacement.Pci.parse(bus, addr == null ? "0x0" : addr);
            } catch (IllegalArgumentException e) {
                throw new UsageException(what + ": " + e.getMessage());
            }
            if (!rootBus && (at.slot() != 0 || at.function() != 0)) {
                throw new UsageException(what + ": a pcie-root-port has one slot: addr=0x0 on bus " + bus);
            }
            if (!taken.add(bus + " " + at.slot() + "." + at.function())) {
                throw new UsageException(what + ": " + at + " is already in use");
            }
            return Optional.of(at);
        }

        private boolean isRootPort(String bus) {
            for (PciTopology.RootPort p : rootPorts) {
                if (p.id().equals(bus)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * {@code mac=}, a unicast aa:bb:cc:dd:ee:ff; without it, QEMU's default for the next NIC: the first
     * 52:54:00:12:34:XX from 56 up that no NIC before it in {@code before} has.
     */
    private static MacAddress macAddress(String what, String text, List<VirtioConfig> before) throws UsageException {
        try {
            return text != null ? MacAddress.parse(text) : MacAddress.nextDefault(before);
        } catch (IllegalArgumentException e) {
            throw new UsageException(text != null ? what + ": mac '" + text + "' is not a unicast MAC address"
                    + " (aa:bb:cc:dd:ee:ff)" : what + ": " + e.getMessage());
        }
    }

    private static final String[] DRIVE_KEYS = {"id", "file", "readonly", "direct", "if", "format", "unit"};

    private static Drive parseDrive(String text) throws UsageException {
        String what = "-drive " + text;
        KeyValues kv = KeyValues.parse(what, text, DRIVE_KEYS);
        String id = required(what, kv, "id");
        String iface = kv.get("if");
        if (iface != null && !iface.equals("none")) {
            throw new UsageException(what + ": if=" + iface + " is not supported (only if=none and if=pflash)");
        }
        if (kv.get("unit") != null) {
            throw new UsageException(what + ": unit= is for if=pflash drives");
        }
        String format = kv.get("format");
        if (format != null && !format.equals("raw")) {
            throw new UsageException(what + ": format=" + format + " is not supported (only raw)");
        }
        String ro = kv.get("readonly");
        boolean readOnly = ro != null && CommandLine.onOff(what, "readonly", ro);
        String dio = kv.get("direct");
        boolean direct = dio != null && CommandLine.onOff(what, "direct", dio);
        Path file = checkFile(what, required(what, kv, "file"), !readOnly, true);
        return new Drive(id, file, readOnly, direct);
    }

    /**
     * {@code -drive file=F,if=pflash,unit=N[,readonly=on][,format=raw]} (QEMU's and StratoVirt's firmware flash,
     * standard machine only): the image is checked here (a firmware volume of whole 4 KiB blocks), so that a missing,
     * truncated or foreign file is one line; unit defaults to the next free one, as in QEMU.
     */
    private static FlashImage parsePflash(String text, MachineType machine, List<FlashImage> before)
            throws UsageException {
        String what = "-drive " + text;
        KeyValues kv = KeyValues.parse(what, text, DRIVE_KEYS);
        if (machine != MachineType.STANDARD) {
            throw new UsageException(what + ": if=pflash needs the standard machine (-machine q35); the microVM"
                    + " boots its kernel without firmware");
        }
        if (kv.get("direct") != null) {
            throw new UsageException(what + ": direct= is not supported for if=pflash");
        }
        String format = kv.get("format");
        if (format != null && !format.equals("raw")) {
            throw new UsageException(what + ": format=" + format + " is not supported (only raw)");
        }
        String ro = kv.get("readonly");
        boolean readOnly = ro != null && CommandLine.onOff(what, "readonly", ro);
        Path file = checkFile(what, required(what, kv, "file"), !readOnly, true);
        int unit = before.size();
        String unitText = kv.get("unit");
        if (unitText != null) {
            unit = Sizes.parseCount(unitText);
            if (unit < 0 || unit > 1) {
                throw new UsageException(what + ": unit=" + unitText + " out of range (0: the code, 1: the variables)");
            }
        }
        for (FlashImage b : before) {
            if (b.unit() == unit) {
                throw new UsageException(what + ": pflash unit " + unit + " is already given");
            }
        }
        try {
            // The largest unit any machine takes (arm64 virt's 64 MiB banks); the machine checks its own limit.
            return FlashImage.open(unit, file, readOnly, FlashImage.ARM_VIRT_UNIT_LIMIT);
        } catch (IllegalArgumentException e) {
            throw new UsageException(what + ": " + e.getMessage());
        }
    }

    /** A descriptor number the caller passed ({@code fds=}, {@code vhostfd=}), which must be open in this process. */
    private static int openFd(String what, String key, String text) throws UsageException {
        int fd = Sizes.parseCount(text);
        if (fd < 0 || !Files.exists(Path.of("/proc/self/fd/" + fd))) {
            throw new UsageException(what + ": " + key + "=" + text + " is not an open file descriptor");
        }
        return fd;
    }

    /** {@code guest-cid=}: a guest's vsock context ID, 3 .. 4294967294 (0-2 are reserved, 2^32-1 means any). */
    private static long guestCid(String what, String text) throws UsageException {
        long cid;
        try {
            cid = Long.parseUnsignedLong(text); // no sign: "-3" is not a CID
        } catch (NumberFormatException e) {
            throw new UsageException(what + ": guest-cid=" + text + " is not a number");
        }
        try {
            VhostVsock.checkCid(cid);
        } catch (IllegalArgumentException e) {
            throw new UsageException(what + ": " + e.getMessage());
        }
        return cid;
    }

    /** A count such as {@code queue-size=}: a decimal number, {@code absent} when not given. */
    private static int count(String what, KeyValues kv, String key, int absent) throws UsageException {
        String text = kv.get(key);
        if (text == null) {
            return absent;
        }
        int n = Sizes.parseCount(text);
        if (n < 0) {
            throw new UsageException(what + ": " + key + "=" + text + " is not a number");
        }
        return n;
    }

    private static String required(String what, KeyValues kv, String key) throws UsageException {
        String v = kv.get(key);
        if (v == null) {
            throw new UsageException(what + ": missing " + key + "=");
        }
        return v;
    }

    /** An existing readable (and, if asked, writable) file; a regular file if asked (else e.g. /dev/urandom). */
    private static Path checkFile(String what, String text, boolean writable, boolean regular) throws UsageException {
        Path path = CommandLine.path(what, text);
        String where = what + ": " + text;
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new UsageException(where + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UsageException(where + ": permission denied");
        } catch (FileSystemException e) {
            throw new UsageException(where + ": " + (e.getReason() == null ? "cannot access" : e.getReason()));
        } catch (IOException | SecurityException e) {
            throw new UsageException(where + ": cannot access (" + e.getMessage() + ")");
        }
        if (attributes.isDirectory()) {
            throw new UsageException(where + ": is a directory, not a file");
        }
        if (regular && !attributes.isRegularFile()) {
            throw new UsageException(where + ": not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new UsageException(where + ": permission denied");
        }
        if (writable && !Files.isWritable(path)) {
            throw new UsageException(where + ": not writable (use readonly=on for a read-only drive)");
        }
        return path;
    }
}
