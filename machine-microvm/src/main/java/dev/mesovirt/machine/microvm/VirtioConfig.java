package dev.mesovirt.machine.microvm;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/** A virtio-mmio device of the microVM, as -drive/-device/-object give it; each takes the next free slot. */
public sealed interface VirtioConfig {
    /** The device's id (-device id=), unique in the machine. */
    String id();

    /**
     * virtio-blk on a raw image.
     *
     * @param direct open the image with O_DIRECT (bypassing the host page cache)
     * @param serial the get-id answer (default: the drive id)
     */
    record Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial) implements VirtioConfig {
        public Block {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(serial, "serial");
        }
    }

    /** virtio-rng reading from {@code source} (e.g. /dev/urandom). */
    record Rng(String id, Path source) implements VirtioConfig {
        public Rng {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(source, "source");
        }
    }

    /**
     * virtio-console with one port (/dev/hvc0 in the guest): -device virtio-serial-device + -device virtconsole.
     *
     * @param id the virtio-serial-device's id
     * @param socketPath a UNIX socket to listen on (-chardev socket,path=,server,nowait); empty: stdio
     */
    record Console(String id, Optional<Path> socketPath) implements VirtioConfig {
        public Console {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(socketPath, "socketPath");
        }
    }

    /**
     * virtio-net on a TAP device: opened by name through /dev/net/tun, or an inherited open fd (-netdev tap,fds=).
     *
     * @param ifname the TAP's name, or empty when {@code fd} is given
     * @param fd an open TAP fd, or -1
     * @param mac the MAC address the guest is given, as six bytes
     */
    record Net(String id, Optional<String> ifname, int fd, java.util.List<Byte> mac) implements VirtioConfig {
        public Net {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(ifname, "ifname");
            mac = java.util.List.copyOf(mac);
            if (mac.size() != 6 || ifname.isEmpty() == (fd < 0)) {
                throw new IllegalArgumentException("a net device needs a 6-byte MAC and either a TAP name or an fd");
            }
        }
    }
}
