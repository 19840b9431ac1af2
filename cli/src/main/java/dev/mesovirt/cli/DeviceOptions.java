package dev.mesovirt.cli;

import dev.mesovirt.vmm.machine.VirtioConfig;
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
 * creates a virtio-mmio device that names one. Devices take virtio-mmio slots in the order of their -device options.
 */
final class DeviceOptions {
    static final String[] DEVICE_TYPES = {"virtio-blk-device", "virtio-net-device", "virtio-rng-device",
        "virtio-serial-device", "virtconsole"};
    static final String[] OBJECT_TYPES = {"rng-random"};

    private record Drive(String id, Path file, boolean readOnly, boolean direct) {}

    private DeviceOptions() {}

    static List<VirtioConfig> parse(List<String> drives, List<String> devices, List<String> objects,
            List<String> chardevs, List<String> netdevs, boolean serialOnStdio) throws UsageException {
        // -netdev tap: id -> "ifname" or "#fd".
        Map<String, String> netdevById = new HashMap<>();
        for (String text : netdevs) {
            String what = "-netdev " + text;
            KeyValues kv = KeyValues.parse(what, text, "type", "id", "ifname", "fds", "fd", "vhost");
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
                int fd = Sizes.parseCount(fds);
                if (fd < 0 || !Files.exists(Path.of("/proc/self/fd/" + fd))) {
                    throw new UsageException(what + ": fds=" + fds + " is not an open file descriptor");
                }
                backend = "#" + fd;
            }
            if (netdevById.put(id, backend) != null) {
                throw new UsageException(what + ": duplicate netdev id '" + id + "'");
            }
        }
        // -chardev: id -> socket path, or null for stdio.
        Map<String, Optional<Path>> chardevById = new HashMap<>();
        for (String text : chardevs) {
            String what = "-chardev " + text;
            // "server" and "nowait" are flags; KeyValues wants key=value.
            StringBuilder sb = new StringBuilder();
            boolean server = false;
            boolean nowait = false;
            String[] items = text.split(",", -1);
            for (int i = 0; i < items.length; i++) {
                if (i > 0 && items[i].equals("server")) {
                    server = true;
                } else if (i > 0 && (items[i].equals("nowait") || items[i].equals("wait=off"))) {
                    nowait = true;
                } else {
                    sb.append(sb.length() == 0 ? "" : ",").append(items[i]);
                }
            }
            KeyValues kv = KeyValues.parse(what, sb.toString(), "backend", "id", "path");
            String backend = kv.get("backend");
            String id = required(what, kv, "id");
            Optional<Path> path;
            if (backend.equals("socket")) {
                if (!server || !nowait) {
                    throw new UsageException(what + ": only server,nowait sockets are supported");
                }
                path = Optional.of(CommandLine.path(what, required(what, kv, "path")));
            } else if (backend.equals("stdio")) {
                if (serialOnStdio) {
                    throw new UsageException(what + ": stdio is already used by -serial (use -serial none or file:)");
                }
                path = Optional.empty();
            } else {
                throw new UsageException(what + ": unknown chardev backend '" + backend + "' (supported: socket, stdio)");
            }
            if (chardevById.put(id, path) != null) {
                throw new UsageException(what + ": duplicate chardev id '" + id + "'");
            }
        }
        Map<String, Drive> driveById = new HashMap<>();
        for (String text : drives) {
            Drive d = parseDrive(text);
            if (driveById.put(d.id(), d) != null) {
                throw new UsageException("-drive " + text + ": duplicate drive id '" + d.id() + "'");
            }
        }
        Map<String, Path> rngById = new HashMap<>();
        for (String text : objects) {
            String what = "-object " + text;
            KeyValues kv = KeyValues.parse(what, text, "qom-type", "id", "filename");
            String type = kv.get("qom-type");
            if (!type.equals("rng-random")) {
                throw new UsageException(what + ": unknown object type '" + type + "' (supported: "
                        + KeyValues.list(OBJECT_TYPES) + ")");
            }
            String id = required(what, kv, "id");
            Path file = checkFile(what, required(what, kv, "filename"), false, false);
            if (rngById.put(id, file) != null) {
                throw new UsageException(what + ": duplicate object id '" + id + "'");
            }
        }
        List<VirtioConfig> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Set<String> usedBackends = new HashSet<>();
        int serialIndex = -1;
        boolean consoleBound = false;
        for (String text : devices) {
            String what = "-device " + text;
            int comma = text.indexOf(',');
            String driver = comma < 0 ? text : text.substring(0, comma);
            VirtioConfig config;
            switch (driver) {
                case "virtio-blk-device" -> {
                    KeyValues kv = KeyValues.parse(what, text, "driver", "id", "drive", "serial");
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
                    config = new VirtioConfig.Block(id, d.file(), d.readOnly(), d.direct(), Optional.ofNullable(serial));
                }
                case "virtio-net-device" -> {
                    KeyValues kv = KeyValues.parse(what, text, "driver", "id", "netdev", "mac");
                    String id = required(what, kv, "id");
                    String netdevId = required(what, kv, "netdev");
                    String backend = netdevById.get(netdevId);
                    if (backend == null) {
                        throw new UsageException(what + ": no -netdev with id '" + netdevId + "'");
                    }
                    if (!usedBackends.add("netdev:" + netdevId)) {
                        throw new UsageException(what + ": netdev '" + netdevId + "' is already used by another device");
                    }
                    List<Byte> mac = parseMac(what, kv.get("mac"), out.size());
                    config = backend.startsWith("#")
                            ? new VirtioConfig.Net(id, Optional.empty(), Integer.parseInt(backend.substring(1)), mac)
                            : new VirtioConfig.Net(id, Optional.of(backend), -1, mac);
                }
                case "virtio-rng-device" -> {
                    KeyValues kv = KeyValues.parse(what, text, "driver", "id", "rng");
                    String id = required(what, kv, "id");
                    String rngId = required(what, kv, "rng");
                    Path source = rngById.get(rngId);
                    if (source == null) {
                        throw new UsageException(what + ": no -object rng-random with id '" + rngId + "'");
                    }
                    config = new VirtioConfig.Rng(id, source);
                }
                case "virtio-serial-device" -> {
                    KeyValues kv = KeyValues.parse(what, text, "driver", "id", "bus", "addr");
                    String id = required(what, kv, "id");
                    // The port comes from the virtconsole that names this bus (or, StratoVirt-style, the next one).
                    if (serialIndex >= 0) {
                        throw new UsageException(what + ": only one virtio-serial-device is supported");
                    }
                    config = new VirtioConfig.Console(id, Optional.empty());
                    serialIndex = out.size();
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
                        throw new UsageException(what + ": no -device virtio-serial-device before it");
                    }
                    Optional<Path> path = chardevById.get(chardevId);
                    if (path == null) {
                        throw new UsageException(what + ": no -chardev with id '" + chardevId + "'");
                    }
                    if (!usedBackends.add("chardev:" + chardevId) || consoleBound) {
                        throw new UsageException(what + ": the console port or chardev '" + chardevId + "' is already used");
                    }
                    consoleBound = true;
                    VirtioConfig.Console c = (VirtioConfig.Console) out.get(serialIndex);
                    out.set(serialIndex, new VirtioConfig.Console(c.id(), path));
                    if (!ids.add(kv.get("id"))) {
                        throw new UsageException(what + ": duplicate device id '" + kv.get("id") + "'");
                    }
                    continue;
                }
                default -> throw new UsageException(what + ": unknown device '" + driver + "' (supported: "
                        + KeyValues.list(DEVICE_TYPES) + ")");
            }
            if (!ids.add(config.id())) {
                throw new UsageException(what + ": duplicate device id '" + config.id() + "'");
            }
            out.add(config);
        }
        if (serialIndex >= 0 && !consoleBound) {
            throw new UsageException("-device virtio-serial-device: no -device virtconsole,chardev=ID,nr=0 for it");
        }
        return out;
    }

    /** aa:bb:cc:dd:ee:ff (unicast); default 52:54:00:12:34:(56+slot), as QEMU. */
    private static List<Byte> parseMac(String what, String text, int slot) throws UsageException {
        List<Byte> mac = new ArrayList<>(6);
        if (text == null) {
            for (int b : new int[] {0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + slot}) {
                mac.add((byte) b);
            }
            return mac;
        }
        String[] parts = text.split(":", -1);
        boolean ok = parts.length == 6;
        for (int i = 0; ok && i < 6; i++) {
            ok = parts[i].length() == 2 && Character.digit(parts[i].charAt(0), 16) >= 0
                    && Character.digit(parts[i].charAt(1), 16) >= 0;
            if (ok) {
                mac.add((byte) Integer.parseInt(parts[i], 16));
            }
        }
        if (!ok || (mac.get(0) & 1) != 0) {
            throw new UsageException(what + ": mac '" + text + "' is not a unicast MAC address (aa:bb:cc:dd:ee:ff)");
        }
        return mac;
    }

    private static Drive parseDrive(String text) throws UsageException {
        String what = "-drive " + text;
        KeyValues kv = KeyValues.parse(what, text, "id", "file", "readonly", "direct", "if", "format");
        String id = required(what, kv, "id");
        String iface = kv.get("if");
        if (iface != null && !iface.equals("none")) {
            throw new UsageException(what + ": if=" + iface + " is not supported (only if=none)");
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
