package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.vhost.VhostVsock;
import dev.mesovirt.vmm.virtio.BlockSizes;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A virtio device as -drive/-device/-object/-netdev (or QMP's blockdev-add/netdev_add + device_add) give it: its
 * backend and what the guest sees of it. Both machines build their devices from these; how a device reaches the guest
 * (a virtio-mmio slot, a PCI function) is the machine's, with {@link #placement()} saying where when it matters.
 */
public sealed interface VirtioConfig {
    /** The device's id (-device id=), unique in the machine. */
    String id();

    /** Where the device goes; empty: the machine's next free place (the microVM's command-line devices). */
    Optional<DevicePlacement> placement();

    /**
     * virtio-blk on a raw image (a regular file, or a host block device added with QMP's host_device driver).
     *
     * @param direct  open the image with O_DIRECT (bypassing the host page cache)
     * @param serial  the get-id answer (default: the drive id)
     * @param noFlush the guest's flushes succeed without an fdatasync (QEMU's cache.no-flush=on)
     * @param sizes   the sector sizes the guest is told (QEMU's logical_block_size, physical_block_size)
     */
    record Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial,
            Optional<DevicePlacement> placement, boolean noFlush, BlockSizes sizes) implements VirtioConfig {
        public Block {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(serial, "serial");
            Objects.requireNonNull(placement, "placement");
            Objects.requireNonNull(sizes, "sizes");
        }

        /** A block device with flushes and the default sector sizes. */
        public Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial,
                Optional<DevicePlacement> placement) {
            this(id, file, readOnly, direct, serial, placement, false, BlockSizes.DEFAULT);
        }

        /** A block device in the machine's next free place. */
        public Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial) {
            this(id, file, readOnly, direct, serial, Optional.empty());
        }
    }

    /** virtio-rng reading from {@code source} (e.g. /dev/urandom). */
    record Rng(String id, Path source, Optional<DevicePlacement> placement) implements VirtioConfig {
        public Rng {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(placement, "placement");
        }

        /** An RNG in the machine's next free place. */
        public Rng(String id, Path source) {
            this(id, source, Optional.empty());
        }
    }

    /**
     * virtio-console with one port (/dev/hvc0 in the guest): -device virtio-serial-device + -device virtconsole.
     *
     * @param id the virtio-serial-device's id
     * @param socketPath a UNIX socket to listen on (-chardev socket,path=,server,nowait); empty: stdio
     */
    record Console(String id, Optional<Path> socketPath, Optional<DevicePlacement> placement) implements VirtioConfig {
        public Console {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(socketPath, "socketPath");
            Objects.requireNonNull(placement, "placement");
        }

        /** A console in the machine's next free place. */
        public Console(String id, Optional<Path> socketPath) {
            this(id, socketPath, Optional.empty());
        }
    }

    /**
     * virtio-net on a TAP device: opened by name through /dev/net/tun, or an inherited open fd (-netdev tap,fds=).
     *
     * @param ifname the TAP's name, or empty when {@code fd} is given
     * @param fd an open TAP fd, or -1
     * @param mac the MAC address the guest is given
     */
    record Net(String id, Optional<String> ifname, int fd, MacAddress mac,
            Optional<DevicePlacement> placement) implements VirtioConfig {
        public Net {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(ifname, "ifname");
            Objects.requireNonNull(mac, "mac");
            Objects.requireNonNull(placement, "placement");
            if (ifname.isEmpty() == (fd < 0)) {
                throw new IllegalArgumentException("a net device needs either a TAP name or an fd");
            }
        }

        /** A NIC in the machine's next free place. */
        public Net(String id, Optional<String> ifname, int fd, MacAddress mac) {
            this(id, ifname, fd, mac, Optional.empty());
        }
    }

    /**
     * virtio-vsock through the kernel's vhost-vsock: the guest's context ID, on {@code /dev/vhost-vsock} or an open
     * descriptor of it the caller passed (vhostfd=).
     *
     * @param guestCid 3 .. 2^32-2
     * @param vhostFd an open /dev/vhost-vsock descriptor, or -1 to open the device node
     */
    record Vsock(String id, long guestCid, int vhostFd, Optional<DevicePlacement> placement) implements VirtioConfig {
        public Vsock {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(placement, "placement");
            VhostVsock.checkCid(guestCid);
        }
    }
}
